/** Shapes of names and ARNs that arrive from outside (events, secrets, command lines) and are checked once. */

/** A lower-case SQL identifier that needs no quoting: databases, login roles. */
export const SQL_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** A Secrets Manager secret ARN. */
export const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;
