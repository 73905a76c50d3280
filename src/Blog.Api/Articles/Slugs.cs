using System.Text;

namespace Blog.Api.Articles;

internal static class Slugs
{
    const int MaxBaseLength = 100;

    /// <summary>
    /// The readable part of a slug: lower-case ASCII letters and digits joined by '-', with
    /// Latin accents folded ("Ça marche" → "ca-marche"). Titles with no such letters (e.g. all
    /// CJK) give "article". The create statement appends the article id to make it unique.
    /// </summary>
    public static string BaseFor(string title)
    {
        var slug = new StringBuilder(Math.Min(title.Length, MaxBaseLength));
        var dash = false;
        foreach (var c in title)
        {
            var folded = Fold(char.ToLowerInvariant(c));
            if (folded is null)
            {
                dash = slug.Length > 0;
                continue;
            }
            if (dash) slug.Append('-');
            dash = false;
            slug.Append(folded);
            if (slug.Length >= MaxBaseLength) break;
        }
        return slug.Length == 0 ? "article" : slug.ToString();
    }

    // U+00C0–U+017F (Latin-1 Supplement, Latin Extended-A) folded to ASCII by hand: the binary
    // runs with InvariantGlobalization, where string.Normalize does not take "é" apart.
    const string Latin =
        "aaaaaa ceeeeiiiidnooooo ouuuuy  aaaaaa ceeeeiiiidnooooo ouuuuy y" +
        "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiii  jjkkklllllll" +
        "lllnnnnnnnnnoooooo  rrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs";

    /// <summary>The ASCII letters for a lower-case character, or null for a separator.</summary>
    static string? Fold(char c) => c switch
    {
        _ when char.IsAsciiLetterOrDigit(c) => c.ToString(),
        'ß' => "ss", 'æ' => "ae", 'œ' => "oe", 'þ' => "th", 'ĳ' => "ij",
        >= '\u00C0' and <= '\u017F' when Latin[c - '\u00C0'] != ' ' => Latin[c - '\u00C0'].ToString(),
        _ => null,
    };
}
