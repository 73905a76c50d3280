-- How many articles use each tag, kept by triggers, so GET /api/tags (on every home page)
-- reads 200 rows by index instead of grouping every article tag (40 ms at 100,000
-- articles). Deleted articles cascade to article_tags and fire the delete trigger too.

ALTER TABLE tags ADD COLUMN uses bigint NOT NULL DEFAULT 0;
UPDATE tags SET uses = (SELECT count(*) FROM article_tags WHERE tag_id = tags.id);
-- Lint: one row per tag, a few thousand at most: the build holds writes to tags for milliseconds.
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX tags_by_use ON tags (uses DESC, name) WHERE uses > 0;

CREATE FUNCTION tag_uses_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    step bigint := CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END;
BEGIN
    -- Lock the rows in name order, the order in which the article statements upsert tags,
    -- so a delete and a create sharing tags cannot deadlock.
    PERFORM 1 FROM tags WHERE id IN (SELECT tag_id FROM changed) ORDER BY name FOR UPDATE;
    UPDATE tags SET uses = uses + step * c.n
    FROM (SELECT tag_id, count(*) AS n FROM changed GROUP BY tag_id) AS c
    WHERE tags.id = c.tag_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER article_tags_inserted AFTER INSERT ON article_tags
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION tag_uses_changed();
CREATE TRIGGER article_tags_deleted AFTER DELETE ON article_tags
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION tag_uses_changed();
