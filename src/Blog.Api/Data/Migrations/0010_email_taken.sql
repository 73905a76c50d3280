-- Whether a user has this email, as of now rather than as of the calling statement's start.
-- A sign-up's insert that loses a race for an email waits for the winner to commit, then
-- inserts nothing (ON CONFLICT DO NOTHING); the statement's own snapshot predates the winner's
-- row, so a plain EXISTS beside it said "no" and the loser's 409 named the username. A
-- VOLATILE PL/pgSQL function takes a fresh snapshot for each query it runs (and is never
-- inlined), so it sees the row it lost to (Users/Registration.cs).

CREATE FUNCTION email_taken(address text) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM users WHERE lower(email) = lower(address));
END
$$;
