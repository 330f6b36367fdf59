/** One version for the gateway's health, state and CLI. */
export const GATEWAY_VERSION = '0.1.0';
