-- What the analysts' read-only role may do, applied by every migration run once the role
-- exists and whenever it lacks one of these (scrapers.db.migrate.grant_reader; {role} is the
-- role's quoted name). Run by the news database's owner, so ALTER DEFAULT PRIVILEGES covers
-- the views its later migrations create.
-- Nothing on the raw tables in `public`: analysts read them only through the analytics
-- views, which run with their owner's rights.
GRANT USAGE ON SCHEMA analytics TO {role};
GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO {role};
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA analytics TO {role};
ALTER DEFAULT PRIVILEGES IN SCHEMA analytics GRANT SELECT ON TABLES TO {role};
ALTER DEFAULT PRIVILEGES IN SCHEMA analytics GRANT EXECUTE ON FUNCTIONS TO {role};
-- Only the owner creates objects in `public`. PostgreSQL before 15 let every role create
-- there, and a database upgraded or restored from one keeps that: the reader could then
-- plant a table or function under a name the owner's queries resolve through search_path.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
