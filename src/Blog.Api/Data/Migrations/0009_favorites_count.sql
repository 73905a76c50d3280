-- Each article keeps its number of favorites, kept by triggers like the counters of migrations
-- 0002 and 0003: every list answers favoritesCount for 20 articles, and counting them per
-- article was a quarter of a list's time in PostgreSQL (measured with pgbench on 100,000
-- articles: 5,400-5,800 list statements/s counting, 7,400 reading the column; issue #15).
-- Statement-level, so every writer (the API, the seeds, a cascade from a deleted user, a person
-- with psql) keeps it right; a favorite is inserted or deleted, never updated (its row is its
-- key and its time). The answer of a favorite or unfavorite cannot see what its own
-- trigger wrote, and adds its own change to the count it read (Articles/Favorites.cs).

ALTER TABLE articles ADD COLUMN favorites_count bigint NOT NULL DEFAULT 0;
UPDATE articles a SET favorites_count = f.n
FROM (SELECT article_id, count(*) AS n FROM favorites GROUP BY article_id) AS f
WHERE a.id = f.article_id;

-- Room on each new page, so that a count's new row version can stay on its page (a HOT update)
-- and need no new index entries.
ALTER TABLE articles SET (fillfactor = 90);

CREATE FUNCTION favorites_count_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    step bigint := CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE articles SET favorites_count = 0 WHERE favorites_count <> 0;
        RETURN NULL;
    END IF;
    -- Lock the rows in id order, so two statements that change the counts of the same
    -- articles (two deleted users' favorites) queue instead of deadlocking. NO KEY UPDATE:
    -- a favorite's own foreign key check (KEY SHARE) on the article does not wait for it.
    PERFORM 1 FROM articles WHERE id IN (SELECT article_id FROM changed) ORDER BY id FOR NO KEY UPDATE;
    UPDATE articles a SET favorites_count = a.favorites_count + step * c.n
    FROM (SELECT article_id, count(*) AS n FROM changed GROUP BY article_id) AS c
    WHERE a.id = c.article_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER favorites_inserted AFTER INSERT ON favorites
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION favorites_count_changed();
CREATE TRIGGER favorites_deleted AFTER DELETE ON favorites
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION favorites_count_changed();
CREATE TRIGGER favorites_truncated AFTER TRUNCATE ON favorites
    FOR EACH STATEMENT EXECUTE FUNCTION favorites_count_changed();
