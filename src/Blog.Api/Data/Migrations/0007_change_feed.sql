-- The change feed of the edge cache (Caching/). A write that can change what an anonymous
-- reader sees calls one publish_… function in its own statement (in the RETURNING of the row
-- it wrote, so only a write that happened publishes). The function sends one notification on
-- channel blog_changes, delivered to every listening instance when the transaction commits,
-- and returns the same payload for the writing instance to evict from its own cache before it
-- answers. The payload is {"xid": the transaction, "tags": [cache tags]}: an instance that reads
-- from a replica evicts again once the replica has the transaction (Data/Replica.cs).
-- Caching/CacheTags.cs names the same tags on the reading side, and the two must agree:
--   a<id>        the article: its own answer, and every list page that shows it
--   c<id>        the comments of article <id>
--   u<id>        everything that shows user <id> as an author (articles, lists, comments, profile)
--   l            the unfiltered list, every page (an article was added or removed)
--   t            the tag list
--   lt:<tag>     lists filtered by that tag
--   la:<name>    lists filtered by that author (cache_name; '~' names no list)
--   lf:<name>    lists filtered by that user's favorites; lf alone: every such list
--   *            everything (a payload too long to send)

-- How a username appears in a tag: lower-case when it is printable ASCII, else '~'. Lookups
-- compare lower(normalize(name, NFKC)); the reading side can compute the same key without the
-- database's collation only for ASCII, and does not store lists filtered by other names.
CREATE FUNCTION cache_name(username text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN username ~ '^[\x20-\x7e]*$' THEN lower(username) ELSE '~' END
$$;

CREATE FUNCTION publish(tags text[]) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    xid text := pg_current_xact_id()::text;
    payload text := json_build_object('xid', xid, 'tags', ARRAY(SELECT DISTINCT tag FROM unnest(tags) AS tag WHERE tag IS NOT NULL))::text;
BEGIN
    -- pg_notify takes less than 8000 bytes; only an update swapping 40 long non-ASCII tags comes close.
    IF octet_length(payload) > 7900 THEN payload := json_build_object('xid', xid, 'tags', ARRAY['*'])::text; END IF;
    PERFORM pg_notify('blog_changes', payload);
    RETURN payload;
END
$$;

CREATE FUNCTION publish_article_created(article_id bigint, author_id bigint, tags text[]) RETURNS text LANGUAGE sql AS $$
    SELECT publish(ARRAY['a' || article_id, 'l', 't', 'la:' || (SELECT cache_name(username) FROM users WHERE id = author_id)]
                   || ARRAY(SELECT 'lt:' || tag FROM unnest(tags) AS tag))
$$;

-- tags_after is null when the update leaves the tags alone. Lists of a tag the article keeps
-- show it through a<id>; only the tags it gains or loses change which lists it is in.
CREATE FUNCTION publish_article_updated(article_id bigint, tags_before text[], tags_after text[]) RETURNS text LANGUAGE sql AS $$
    WITH moved AS (
        (SELECT unnest(tags_after) EXCEPT SELECT unnest(tags_before))
        UNION
        (SELECT unnest(tags_before) EXCEPT SELECT unnest(tags_after))
    )
    SELECT publish(ARRAY['a' || article_id]
                   || CASE WHEN tags_after IS NOT NULL AND EXISTS (SELECT 1 FROM moved) THEN ARRAY['t'] ELSE '{}' END
                   || ARRAY(SELECT 'lt:' || tag FROM moved AS m (tag) WHERE tags_after IS NOT NULL))
$$;

CREATE FUNCTION publish_article_deleted(article_id bigint, author_id bigint, tags text[]) RETURNS text LANGUAGE sql AS $$
    SELECT publish(ARRAY['a' || article_id, 'c' || article_id, 'l', 't', 'lf', 'la:' || (SELECT cache_name(username) FROM users WHERE id = author_id)]
                   || ARRAY(SELECT 'lt:' || tag FROM unnest(tags) AS tag))
$$;

CREATE FUNCTION publish_favorite(article_id bigint, user_id bigint) RETURNS text LANGUAGE sql AS $$
    SELECT publish(ARRAY['a' || article_id, 'lf:' || (SELECT cache_name(username) FROM users WHERE id = user_id)])
$$;

CREATE FUNCTION publish_comments(article_id bigint) RETURNS text LANGUAGE sql AS $$
    SELECT publish(ARRAY['c' || article_id])
$$;

-- A new username moves the lists filtered by the old and the new name.
CREATE FUNCTION publish_user(user_id bigint, name_before text, name_after text) RETURNS text LANGUAGE sql AS $$
    SELECT publish(ARRAY['u' || user_id]
                   || CASE WHEN name_before IS DISTINCT FROM name_after
                           THEN ARRAY['la:' || cache_name(name_before), 'la:' || cache_name(name_after),
                                      'lf:' || cache_name(name_before), 'lf:' || cache_name(name_after)]
                           ELSE '{}' END)
$$;
