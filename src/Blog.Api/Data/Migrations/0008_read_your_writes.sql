-- Read replicas with read-your-writes (Data/Replica.cs). A write tells the instance that made
-- it its transaction id, in a notice that arrives with the statement's answer (no round trip,
-- no column in any answer): signed_in() does it for every write of a signed-in user, and the
-- writes without one (sign-ups) call written() themselves. The instance then waits, on the
-- replica, until replayed() sees that transaction before it answers.

CREATE FUNCTION written() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    -- Delivered whatever the session's setting: the instance depends on it.
    PERFORM set_config('client_min_messages', 'notice', true);
    RAISE NOTICE 'written %', pg_current_xact_id();
    RETURN true;
END
$$;

-- Still STABLE, so that with constant arguments the planner checks it once, before anything
-- runs (a 401 comes before a 404); that one check also sends the notice.
CREATE OR REPLACE FUNCTION signed_in(user_id bigint, version int) RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM users WHERE id = user_id AND token_version = version) THEN
        RAISE EXCEPTION 'the token is no longer valid' USING ERRCODE = 'BT401';
    END IF;
    RETURN written();
END
$$;

-- On a replica: whether transaction xid is visible to a new snapshot, waiting up to
-- timeout_ms for its commit to be replayed. Exact: a snapshot taken after the commit record
-- is replayed has the transaction below its xmin or out of its in-progress list, and
-- pg_visible_in_snapshot says so; before that, it is in progress. (A WAL position read
-- inside the writing statement would lie before its commit record.)
CREATE FUNCTION replayed(xid xid8, timeout_ms int) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    deadline timestamptz := clock_timestamp() + timeout_ms * interval '1 millisecond';
BEGIN
    LOOP
        IF pg_visible_in_snapshot(xid, pg_current_snapshot()) THEN RETURN true; END IF;
        IF clock_timestamp() >= deadline THEN RETURN false; END IF;
        PERFORM pg_sleep(0.0005);
    END LOOP;
END
$$;
