/** What a stage's input validator returns, and its signature (the stage loop dead-letters what fails). */
export type Validated<T> = { ok: true; message: T } | { ok: false; reason: string };

/**
 * A validator of one message kind: takes the message text, or the already decoded object when
 * the in-process bus delivered one (no parse needed then).
 */
export type MessageParser<T> = (raw: string, decoded?: unknown) => Validated<T>;
