-- No JIT compilation for this database's statements. PostgreSQL compiles a plan it estimates
-- costly (jit_above_cost), and a prepared list statement's generic plan cannot know its LIMIT,
-- so it is estimated as if it read a tenth of the table: a 1 ms list took 27 ms, compiling
-- (ListPlansTests checks that no list is compiled). Every statement here is small; JIT pays
-- only for analytics. Applies to new sessions. Without the rights to change the database
-- (not its owner), the migration goes on and says so.
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET jit = off', current_database());
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'jit stays as it is: only the owner of database % can turn it off', current_database();
END
$$;
