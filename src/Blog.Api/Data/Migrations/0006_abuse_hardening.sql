-- Sign-in limits that hold across every instance and region, token revocation, and names
-- that cannot pass for one another (issue: abuse hardening).

-- One row per client network (IPv4 address, IPv6 /64) and per account, kept by the sign-up
-- and sign-in statements themselves (Auth/SignInLimits).
CREATE TABLE sign_in_limits (
    key           text PRIMARY KEY,              -- 'network:203.0.113.7', 'network:2001:db8:1:2::/64', 'account:ada@example.com'
    window_start  timestamptz NOT NULL,          -- network: the minute counted; account: the last attempt
    -- Lint: attempts in one minute, bounded by AUTH_RATE_LIMIT.
    -- squawk-ignore prefer-bigint-over-int
    attempts      int NOT NULL DEFAULT 0,        -- network: attempts in that minute
    -- Lint: failures in a row, bounded by the backoff (past 100 an account waits a day).
    -- squawk-ignore prefer-bigint-over-int
    failures      int NOT NULL DEFAULT 0,        -- account: attempts since the last sign-in that succeeded
    blocked_until timestamptz                    -- account: no attempt before this (backoff)
);

-- Tokens carry the version of the credentials they were issued for. Changing the password or
-- the email makes a new version, and the older tokens stop working.
-- Lint: one step per change of a user's password or email.
-- squawk-ignore prefer-bigint-over-int
ALTER TABLE users ADD COLUMN token_version int NOT NULL DEFAULT 1;

-- Raises BT401 unless the token's user exists with that version: statements that write call
-- it in a condition without columns, which PostgreSQL checks once, before anything runs, so a
-- revoked token costs no extra round trip and changes nothing.
CREATE FUNCTION signed_in(user_id bigint, version int) RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM users WHERE id = user_id AND token_version = version) THEN
        RAISE EXCEPTION 'the token is no longer valid' USING ERRCODE = 'BT401';
    END IF;
    RETURN true;
END
$$;

-- Usernames are stored in Unicode NFKC form ("ａｌｉｃｅ" is "alice") and unique in it, case
-- aside. An existing name whose normal form an older account already has stays reachable
-- under a new one, the normal form and the account's id; then the rest are normalized (in
-- two steps: the unique index is checked row by row).
UPDATE users u
SET username = left(normalize(u.username, NFKC), 30) || '-' || u.id
WHERE EXISTS (SELECT 1 FROM users o WHERE o.id < u.id AND lower(normalize(o.username, NFKC)) = lower(normalize(u.username, NFKC)));
UPDATE users SET username = left(normalize(username, NFKC), 50) WHERE username <> normalize(username, NFKC);
