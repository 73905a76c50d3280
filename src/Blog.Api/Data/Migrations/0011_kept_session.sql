-- A password or email change signs out every session but the one that made it (issue #32):
-- the RealWorld contract, and every client that keeps its token, go on with the token they
-- changed the password with. Tokens carry their session's id ("sid", Auth/Tokens.cs); the user
-- keeps the id of the session of the latest change, and that session's earlier tokens stay
-- valid beside the ones issued for the new version. A nullable column without a default is a
-- change of the catalog only: no rewrite, and the lock is held for no time at all.
ALTER TABLE users ADD COLUMN kept_session text;

-- The three-argument form is this release's; the two-argument one stays as it was for the
-- previous release, which may serve on this schema during a rolling deploy or a rollback (its
-- tokens carry no session, so it signs out every earlier token on a change, as it did).
CREATE FUNCTION signed_in(user_id bigint, version int, session text) RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM users WHERE id = user_id AND (token_version = version OR kept_session = session)) THEN
        RAISE EXCEPTION 'the token is no longer valid' USING ERRCODE = 'BT401';
    END IF;
    RETURN written();
END
$$;
