using System.Globalization;
using Microsoft.EntityFrameworkCore;

var builder = WebApplication.CreateBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenAnyIP(int.Parse(Environment.GetEnvironmentVariable("PORT") ?? "8080", CultureInfo.InvariantCulture)));
// The service's own DATABASE_URL parsing, so both read the same database the same way.
var connectionString = Blog.Api.Data.DatabaseUrl.ToConnectionString(Environment.GetEnvironmentVariable("DATABASE_URL") ?? throw new InvalidOperationException("DATABASE_URL"));
builder.Services.AddDbContextPool<BlogContext>(options => options.UseNpgsql(connectionString));
var app = builder.Build();

app.MapGet("/api/articles", async (BlogContext db, int limit = 20, int offset = 0) =>
{
    var articles = await db.Articles
        .OrderByDescending(a => a.Id)
        .Skip(offset).Take(limit)
        .Select(a => new
        {
            a.Slug, a.Title, a.Description,
            TagList = a.ArticleTags.OrderBy(t => t.Position).Select(t => t.Tag.Name).ToList(),
            CreatedAt = a.CreatedAt, UpdatedAt = a.UpdatedAt,
            Favorited = false,
            FavoritesCount = a.Favorites.Count(),
            Author = new { a.Author.Username, a.Author.Bio, a.Author.Image, Following = false },
        })
        .ToListAsync();
    var count = await db.Articles.CountAsync();
    return Results.Ok(new { articles, articlesCount = count });
});

app.Run();

sealed class BlogContext(DbContextOptions<BlogContext> options) : DbContext(options)
{
    public DbSet<Article> Articles => Set<Article>();

    protected override void OnModelCreating(ModelBuilder model)
    {
        model.Entity<User>(e => { e.ToTable("users"); e.Property(u => u.Id).HasColumnName("id"); e.Property(u => u.Username).HasColumnName("username"); e.Property(u => u.Bio).HasColumnName("bio"); e.Property(u => u.Image).HasColumnName("image"); });
        model.Entity<Tag>(e => { e.ToTable("tags"); e.Property(t => t.Id).HasColumnName("id"); e.Property(t => t.Name).HasColumnName("name"); });
        model.Entity<Article>(e =>
        {
            e.ToTable("articles");
            e.Property(a => a.Id).HasColumnName("id");
            e.Property(a => a.Slug).HasColumnName("slug");
            e.Property(a => a.Title).HasColumnName("title");
            e.Property(a => a.Description).HasColumnName("description");
            e.Property(a => a.AuthorId).HasColumnName("author_id");
            e.Property(a => a.CreatedAt).HasColumnName("created_at");
            e.Property(a => a.UpdatedAt).HasColumnName("updated_at");
            e.HasOne(a => a.Author).WithMany().HasForeignKey(a => a.AuthorId);
        });
        model.Entity<ArticleTag>(e =>
        {
            e.ToTable("article_tags");
            e.HasKey(t => new { t.ArticleId, t.TagId });
            e.Property(t => t.ArticleId).HasColumnName("article_id");
            e.Property(t => t.TagId).HasColumnName("tag_id");
            e.Property(t => t.Position).HasColumnName("position");
            e.HasOne(t => t.Article).WithMany(a => a.ArticleTags).HasForeignKey(t => t.ArticleId);
            e.HasOne(t => t.Tag).WithMany().HasForeignKey(t => t.TagId);
        });
        model.Entity<Favorite>(e =>
        {
            e.ToTable("favorites");
            e.HasKey(f => new { f.UserId, f.ArticleId });
            e.Property(f => f.UserId).HasColumnName("user_id");
            e.Property(f => f.ArticleId).HasColumnName("article_id");
            e.HasOne<Article>().WithMany(a => a.Favorites).HasForeignKey(f => f.ArticleId);
        });
    }
}

sealed class User { public long Id { get; set; } public string Username { get; set; } = ""; public string? Bio { get; set; } public string? Image { get; set; } }
sealed class Tag { public long Id { get; set; } public string Name { get; set; } = ""; }
sealed class Article
{
    public long Id { get; set; }
    public string Slug { get; set; } = "";
    public string Title { get; set; } = "";
    public string Description { get; set; } = "";
    public long AuthorId { get; set; }
    public User Author { get; set; } = null!;
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
    public List<ArticleTag> ArticleTags { get; set; } = [];
    public List<Favorite> Favorites { get; set; } = [];
}
sealed class ArticleTag { public long ArticleId { get; set; } public Article Article { get; set; } = null!; public long TagId { get; set; } public Tag Tag { get; set; } = null!; public short Position { get; set; } }
sealed class Favorite { public long UserId { get; set; } public long ArticleId { get; set; } }
