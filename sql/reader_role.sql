-- The privileged step (`make reader-role`, run by a role with CREATEROLE): the analysts'
-- read-only role and its settings. {role} is the role's quoted name, {name} its name as a
-- string literal. Roles are cluster-wide: another database on the server may have made it
-- already. Idempotent: `make reader-role` applies it on every run, and so does a grant run
-- (scrapers.db.migrate.grant_reader) whose role may, when the setting below has gone.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = {name}) THEN
        CREATE ROLE {role} NOLOGIN;
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN
        NULL;  -- created concurrently by another database's set-up
END
$$;
-- belt and braces for logins: transactions start read-only (the grants are what actually
-- keep the role from writing)
ALTER ROLE {role} SET default_transaction_read_only = on;
COMMENT ON ROLE {role} IS
    'Nichiro analysts: SELECT on the analytics schema of the news database, nothing else.';
