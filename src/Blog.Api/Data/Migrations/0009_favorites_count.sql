-- migration: backfill SELECT backfill_favorites_count($1, 5000)
--
-- Each article keeps its number of favorites, kept by triggers like the counters of migrations
-- 0002 and 0003: every list answers favoritesCount for 20 articles, and counting them per
-- article was a quarter of a list's time in PostgreSQL (measured with pgbench on 100,000
-- articles: 5,400-5,800 list statements/s counting, 7,400 reading the column; issue #15).
-- Statement-level, so every writer (the API, the seeds, a cascade from a deleted user, a person
-- with psql) keeps it right; a favorite is inserted or deleted, never updated (its row is its
-- key and its time). The answer of a favorite or unfavorite cannot see what its own
-- trigger wrote, and adds its own change to the count it read (Articles/Favorites.cs).
--
-- Deployed without a pause (issue #31; this file replaced one that filled the column inside
-- the migration's transaction, holding the table's exclusive lock for 9 s at 300,000 articles,
-- while the previous release served; a database that ran that one keeps it, the name is the
-- same). Expand: the column comes without a value for the rows there are (a change of the
-- catalog only), new rows start at 0, and the triggers keep counts that are there and leave
-- the missing ones missing (NULL plus one is NULL). Backfill: after this commits, the migrate
-- command fills the missing counts, 5,000 articles a transaction. Until a row is filled,
-- readers count its favorites (coalesce in Articles/ArticleSql.cs and Favorites.cs), so every
-- answer is right at every moment; the previous release counts them itself.

ALTER TABLE articles ADD COLUMN favorites_count bigint;
ALTER TABLE articles ALTER COLUMN favorites_count SET DEFAULT 0;

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

-- One batch of the backfill: the articles after id `after`, at most `batch` of them; returns the
-- last id it looked at, or NULL past the last article. Lock first, count after, in two
-- statements (each with a snapshot of its own): a favorite whose trigger found a row still
-- missing its count holds that row's lock until it commits, so the count, taken once the locks
-- are held, sees every favorite whose trigger skipped the row; a favorite whose trigger comes
-- after waits for this batch and then adds to the count it filled.
CREATE FUNCTION backfill_favorites_count(after bigint, batch int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    SELECT array_agg(id ORDER BY id) INTO ids FROM (SELECT id FROM articles WHERE id > after ORDER BY id LIMIT batch) AS next;
    IF ids IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM 1 FROM articles WHERE id = ANY (ids) AND favorites_count IS NULL ORDER BY id FOR NO KEY UPDATE;
    UPDATE articles a SET favorites_count = (SELECT count(*) FROM favorites f WHERE f.article_id = a.id)
    WHERE a.id = ANY (ids) AND a.favorites_count IS NULL;
    RETURN ids[array_length(ids, 1)];
END
$$;
