-- Each article keeps its tag names, as answered (alphabetical, in code point order), in a
-- column kept by triggers: every list answers them for 20 articles, and joining article_tags
-- to tags per article was two thirds of a list's time in PostgreSQL (a tiny tags table is
-- scanned, not looked up). article_tags still drives the tag filter and the tag counts.
-- Statement-level, like the counters of migrations 0002 and 0003; they see the rows the
-- statement wrote, so every writer (the API, the seeds, a person with psql) keeps it right.

ALTER TABLE articles ADD COLUMN tag_list text[] NOT NULL DEFAULT '{}';

CREATE FUNCTION article_tag_list_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE articles a
    SET tag_list = ARRAY(SELECT t.name FROM article_tags at JOIN tags t ON t.id = at.tag_id
                         WHERE at.article_id = a.id ORDER BY t.name COLLATE "C")
    WHERE a.id IN (SELECT article_id FROM changed);
    RETURN NULL;
END
$$;

CREATE TRIGGER article_tags_listed AFTER INSERT ON article_tags
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION article_tag_list_changed();
CREATE TRIGGER article_tags_unlisted AFTER DELETE ON article_tags
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION article_tag_list_changed();

UPDATE articles a
SET tag_list = ARRAY(SELECT t.name FROM article_tags at JOIN tags t ON t.id = at.tag_id
                     WHERE at.article_id = a.id ORDER BY t.name COLLATE "C")
WHERE EXISTS (SELECT 1 FROM article_tags at WHERE at.article_id = a.id);
