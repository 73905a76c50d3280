-- Signed-in reads at the edge (Caching/Viewers.cs): each instance keeps, per signed-in user,
-- what their answers show of them alone: whether their token still holds, whom they follow,
-- what they favorited. Every change to those names the viewer on the change feed, tag
-- v<id>, in the writing transaction, and every instance evicts that viewer.
--   favorites:  publish_favorite, which every favorite and unfavorite calls, of both releases
--   follows:    statement triggers, so that every writer is heard (the previous release's
--               follows publish nothing of their own)
--   users:      publish_user, which every update of a user calls (a new password or email is
--               a new token version), and a trigger for a deleted user
-- Both releases call these functions: the previous one ignores tags it does not know.
--
-- A read refuses a signed-out session's token as the viewer entries do (reading(), in every
-- read statement that shows the reader anything of their own): with no user, nothing to check.
-- STABLE, with parameters only, so the planner checks it once, before anything runs. It takes
-- no transaction id, so it runs on a replica too.

CREATE FUNCTION reading(user_id bigint, version int, session text) RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF user_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users WHERE id = user_id AND (token_version = version OR kept_session = session)) THEN
        RAISE EXCEPTION 'the token is no longer valid' USING ERRCODE = 'BT401';
    END IF;
    RETURN true;
END
$$;

CREATE OR REPLACE FUNCTION publish_favorite(article_id bigint, user_id bigint) RETURNS text LANGUAGE sql AS $$
    SELECT publish(ARRAY['a' || article_id, 'v' || user_id, 'lf:' || (SELECT cache_name(username) FROM users WHERE id = user_id)])
$$;

CREATE OR REPLACE FUNCTION publish_user(user_id bigint, name_before text, name_after text) RETURNS text LANGUAGE sql AS $$
    SELECT publish(ARRAY['u' || user_id, 'v' || user_id]
                   || CASE WHEN name_before IS DISTINCT FROM name_after
                           THEN ARRAY['la:' || cache_name(name_before), 'la:' || cache_name(name_after),
                                      'lf:' || cache_name(name_before), 'lf:' || cache_name(name_after)]
                           ELSE '{}' END)
$$;

CREATE FUNCTION follows_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed) THEN  -- a follow that was there already changed nothing
        PERFORM publish(ARRAY(SELECT DISTINCT 'v' || follower_id FROM changed));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER follows_inserted AFTER INSERT ON follows
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION follows_changed();
CREATE TRIGGER follows_deleted AFTER DELETE ON follows
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION follows_changed();

CREATE FUNCTION users_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM publish(ARRAY(SELECT 'v' || id FROM changed) || ARRAY(SELECT 'u' || id FROM changed));
    RETURN NULL;
END
$$;

CREATE TRIGGER users_deleted AFTER DELETE ON users
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION users_deleted();
