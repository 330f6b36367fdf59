/** The gateway's tokenizer: gpt-tokenizer's o200k encoding, injected into the pure estimator. */
import { countTokens } from 'gpt-tokenizer';
import { createEstimator, type Estimator } from '../core/tokens';

export function countText(text: string): number {
  if (text.length === 0) return 0;
  try {
    return countTokens(text);
  } catch {
    // Text that looks like a special token (e.g. "<|endoftext|>") is refused by the encoder;
    // about 3 characters a token is close enough for such rare input.
    return Math.ceil(text.length / 3);
  }
}

export const estimateTokens: Estimator = createEstimator(countText);
