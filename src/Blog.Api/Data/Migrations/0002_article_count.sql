-- The number of articles, kept by triggers, so the unfiltered list (every home page) does
-- not count 100,000 rows per request. Statement-level triggers add and subtract whole
-- statements' rows; the one counter row serialises concurrent creates only for the moment
-- of their commit.

CREATE TABLE article_count (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    n         bigint NOT NULL
);
INSERT INTO article_count (n) SELECT count(*) FROM articles;

CREATE FUNCTION article_count_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE article_count SET n = n + (SELECT count(*) FROM changed);
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE article_count SET n = n - (SELECT count(*) FROM changed);
    ELSE -- TRUNCATE
        UPDATE article_count SET n = 0;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER articles_inserted AFTER INSERT ON articles
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION article_count_changed();
CREATE TRIGGER articles_deleted AFTER DELETE ON articles
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION article_count_changed();
CREATE TRIGGER articles_truncated AFTER TRUNCATE ON articles
    FOR EACH STATEMENT EXECUTE FUNCTION article_count_changed();
