-- On a read replica: how far it has got, for the instance's read-your-writes waits
-- (Data/Replica.cs says why this is exact on a hot standby). Called in short, separate
-- statements, so that no snapshot is held while the instance waits: a snapshot held for the
-- wait (replayed(), migration 0008, kept for the previous release) made replay wait for the
-- writes that waited for replay (issue #30).
--
-- In this order, which is why it is a function:
-- 1. finished: for each transaction, whether its commit (or abort) is in pg_xact. Only asked
--    of ids below the next one the standby's snapshot expects: pg_xact_status raises for an id
--    the standby has not heard of yet. An id too old to have a status left finished long ago.
-- 2. received: the end of the WAL the standby has received and flushed.
-- 3. replayed: the end of the last WAL record replayed in full.
CREATE FUNCTION replica_progress(xids bigint[], OUT finished boolean[], OUT received bigint, OUT replayed bigint)
LANGUAGE plpgsql AS $$
DECLARE
    horizon xid8 := pg_snapshot_xmax(pg_current_snapshot());
BEGIN
    finished := ARRAY(
        SELECT CASE WHEN x::text::xid8 < horizon THEN coalesce(pg_xact_status(x::text::xid8) <> 'in progress', true) ELSE false END
        FROM unnest(xids) WITH ORDINALITY AS given(x, n)
        ORDER BY n);
    received := pg_last_wal_receive_lsn() - '0/0';
    replayed := pg_last_wal_replay_lsn() - '0/0';
END
$$;
