using System.Text;

namespace Blog.Api.Http;

/// <summary>
/// The single-script rule for usernames (Unicode TR39, "highly restrictive"): the letters of a
/// name come from one script, so "аlice" with a Cyrillic а cannot pass for "alice". Japanese
/// (Han, Hiragana, Katakana), Korean (Han, Hangul) and Chinese (Han, Bopomofo) count as one,
/// and may be mixed with Latin. Digits and '_', '-', '.' belong to every script. .NET has no
/// script property, so the scripts a name can be written in are listed by their blocks;
/// letters of any other script count as one script each, by block.
/// </summary>
internal static class Scripts
{
    [Flags]
    enum Script
    {
        None = 0, Latin = 1, Greek = 2, Cyrillic = 4, Armenian = 8, Hebrew = 16, Arabic = 32, Devanagari = 64, Bengali = 128,
        Thai = 256, Georgian = 512, Hangul = 1024, Hiragana = 2048, Katakana = 4096, Bopomofo = 8192, Han = 16384, Other = 32768,
    }

    static readonly (int First, int Last, Script Script)[] Blocks =
    [
        (0x0041, 0x005A, Script.Latin), (0x0061, 0x007A, Script.Latin), (0x00C0, 0x024F, Script.Latin), (0x0250, 0x02AF, Script.Latin),
        (0x1E00, 0x1EFF, Script.Latin), (0x2C60, 0x2C7F, Script.Latin), (0xA720, 0xA7FF, Script.Latin), (0xAB30, 0xAB6F, Script.Latin),
        (0xFF21, 0xFF3A, Script.Latin), (0xFF41, 0xFF5A, Script.Latin),
        (0x0370, 0x03FF, Script.Greek), (0x1F00, 0x1FFF, Script.Greek),
        (0x0400, 0x052F, Script.Cyrillic), (0x1C80, 0x1C8F, Script.Cyrillic), (0x2DE0, 0x2DFF, Script.Cyrillic), (0xA640, 0xA69F, Script.Cyrillic),
        (0x0530, 0x058F, Script.Armenian), (0xFB13, 0xFB17, Script.Armenian),
        (0x0590, 0x05FF, Script.Hebrew), (0xFB1D, 0xFB4F, Script.Hebrew),
        (0x0600, 0x06FF, Script.Arabic), (0x0750, 0x077F, Script.Arabic), (0x08A0, 0x08FF, Script.Arabic), (0xFB50, 0xFDFF, Script.Arabic), (0xFE70, 0xFEFF, Script.Arabic),
        (0x0900, 0x097F, Script.Devanagari), (0x0980, 0x09FF, Script.Bengali), (0x0E00, 0x0E7F, Script.Thai),
        (0x10A0, 0x10FF, Script.Georgian), (0x2D00, 0x2D2F, Script.Georgian),
        (0x1100, 0x11FF, Script.Hangul), (0x3130, 0x318F, Script.Hangul), (0xA960, 0xA97F, Script.Hangul), (0xAC00, 0xD7AF, Script.Hangul), (0xFFA0, 0xFFDC, Script.Hangul),
        (0x3040, 0x309F, Script.Hiragana), (0x30A0, 0x30FF, Script.Katakana), (0x31F0, 0x31FF, Script.Katakana), (0xFF66, 0xFF9F, Script.Katakana),
        (0x3100, 0x312F, Script.Bopomofo), (0x31A0, 0x31BF, Script.Bopomofo),
        (0x2E80, 0x2FDF, Script.Han), (0x3005, 0x3007, Script.Han), (0x3400, 0x4DBF, Script.Han), (0x4E00, 0x9FFF, Script.Han), (0xF900, 0xFAFF, Script.Han),
        (0x20000, 0x3134F, Script.Han),
    ];

    /// <summary>Sets of scripts that one name may mix (TR39 highly restrictive).</summary>
    static readonly Script[] Allowed =
    [
        Script.Latin | Script.Han | Script.Hiragana | Script.Katakana,
        Script.Latin | Script.Han | Script.Hangul,
        Script.Latin | Script.Han | Script.Bopomofo,
    ];

    public static bool IsSingleScript(string value)
    {
        var scripts = Script.None;
        var otherBlock = -1;
        foreach (var rune in value.EnumerateRunes())
        {
            if (!Rune.IsLetter(rune)) continue;  // digits, marks and punctuation go with any script
            var script = Of(rune.Value);
            if (script == Script.Other)
            {
                var block = rune.Value >> 7;
                if (otherBlock >= 0 && otherBlock != block) return false;
                otherBlock = block;
            }
            scripts |= script;
        }
        if ((scripts & (scripts - 1)) == 0) return true;  // one script, or none
        return (scripts & Script.Other) == 0 && Allowed.Any(allowed => (scripts & ~allowed) == 0);
    }

    static Script Of(int codePoint)
    {
        foreach (var (first, last, script) in Blocks)
        {
            if (codePoint >= first && codePoint <= last) return script;
        }
        return Script.Other;
    }
}
