// Preloaded into a gateway (node --require) to run it with a wrong clock, as a machine whose
// time is off: Date.now() is RLM_TEST_CLOCK_OFFSET_MS later (or earlier) than the real one.
const offset = Number(process.env.RLM_TEST_CLOCK_OFFSET_MS || 0);
const realNow = Date.now;
Date.now = () => realNow() + offset;
