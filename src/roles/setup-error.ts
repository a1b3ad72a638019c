/**
 * A module that cannot start for a reason the operator fixes, found while it sets up (a model
 * file that is missing or corrupt): serverRole prints `wattflow <role>: <message>`, no stack,
 * and the role exits with status 1 (a command-line or configuration error is exit 2).
 */
export class SetupError extends Error {}
