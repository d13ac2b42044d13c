using System.Text;

namespace MultiLora.Data.Templates.Jinja;

public enum TokenKind
{
    Text, OpenStatement, CloseStatement, OpenExpression, CloseExpression, Comment,
    Identifier, Integer, Float, String, Operator, Eof,
}

/// <summary>A token and the offset in the original template source where it starts (for error positions).</summary>
public sealed record JinjaToken(TokenKind Kind, string Value, int Offset);

/// <summary>
/// Splits a chat template into tokens the way the hub's Jinja (@huggingface/jinja, as transformers configures
/// Jinja2: trim_blocks and lstrip_blocks on, one trailing newline dropped) does, including whitespace control
/// with "-". {% generation %} / {% endgeneration %} tags leave the marks <see cref="GenerationStart"/> /
/// <see cref="GenerationEnd"/> in the text so rendering can report which output characters they enclosed.
/// </summary>
public static class JinjaLexer
{
    public const char GenerationStart = '\uFDD0';
    public const char GenerationEnd = '\uFDD1';

    static readonly (string Text, string Kind)[] Operators =
    [
        ("(", "("), (")", ")"), ("{", "{"), ("}", "}"), ("[", "["), ("]", "]"), (",", ","), (".", "."), (":", ":"), ("|", "|"),
        ("<=", "<="), (">=", ">="), ("==", "=="), ("!=", "!="), ("<", "<"), (">", ">"), ("+", "+"), ("-", "-"), ("~", "~"),
        ("**", "**"), ("*", "*"), ("//", "//"), ("/", "/"), ("%", "%"), ("=", "="),
    ];

    /// <summary>Source text after preprocessing, with each char's offset in the original source.</summary>
    sealed class Source(string text, int[] offsets)
    {
        public string Text = text;
        public int[] Offsets = offsets;

        public void Edit(Func<string, int, int> matchLength, Func<string, int, int, (string Replacement, int[] Map)>? replace = null)
        {
            // Generic pass: at each position, matchLength says how many chars a match spans (0: none);
            // replace gives the replacement and, per replacement char, the index of the source char it keeps.
            var text = new StringBuilder(Text.Length);
            var offsets = new List<int>(Text.Length);
            for (var i = 0; i < Text.Length;)
            {
                var n = matchLength(Text, i);
                if (n <= 0) { text.Append(Text[i]); offsets.Add(Offsets[i]); i++; continue; }
                var (r, map) = replace!(Text, i, n);
                text.Append(r);
                foreach (var m in map) offsets.Add(Offsets[Math.Min(i + m, Offsets.Length - 1)]);
                i += n;
            }
            Text = text.ToString();
            Offsets = [.. offsets, Offsets.Length == 0 ? 0 : Offsets[^1] + 1];
        }
    }

    static Source Preprocess(string template)
    {
        var source = new Source(template, Enumerable.Range(0, template.Length + 1).ToArray());
        if (source.Text.EndsWith('\n')) { source.Text = source.Text[..^1]; source.Offsets = source.Offsets[..^1]; }
        // lstrip_blocks: blanks from a line start up to a block or comment tag ("{%", "{#", "{-").
        source.Edit((t, i) =>
        {
            if (i > 0 && t[i - 1] != '\n') return 0;
            var j = i;
            while (j < t.Length && t[j] is ' ' or '\t') j++;
            return j > i && j + 1 < t.Length && t[j] == '{' && t[j + 1] is '#' or '%' or '-' ? j - i : 0;
        }, (_, _, _) => ("", []));
        // trim_blocks: the newline right after a block or comment tag.
        source.Edit((t, i) => t[i] == '\n' && i >= 2 && t[i - 1] == '}' && t[i - 2] is '#' or '%' or '-' ? 1 : 0, (_, _, _) => ("", []));
        // {% generation %} tags: replaced by a mark; the blanks around them go only where the tag says "-".
        source.Edit(GenerationTagLength, (t, i, n) =>
        {
            var tag = ParseGenerationTag(t, i);
            var keep = new StringBuilder();
            var map = new List<int>();
            if (!tag.StripBefore) for (var k = i; k < tag.TagStart; k++) { keep.Append(t[k]); map.Add(k - i); }
            keep.Append(tag.End ? GenerationEnd : GenerationStart); map.Add(tag.TagStart - i);
            if (!tag.StripAfter) for (var k = tag.TagEnd; k < i + n; k++) { keep.Append(t[k]); map.Add(k - i); }
            return (keep.ToString(), map.ToArray());
        });
        return source;
    }

    readonly record struct GenerationTag(int TagStart, int TagEnd, int MatchEnd, bool End, bool StripBefore, bool StripAfter);

    static int GenerationTagLength(string t, int i)
    {
        if (i > 0 && char.IsWhiteSpace(t[i - 1]) && char.IsWhiteSpace(t[i])) return 0; // a match starts at the first blank
        var tag = TryGenerationTag(t, i);
        return tag is { } g ? g.MatchEnd - i : 0;
    }

    static GenerationTag ParseGenerationTag(string t, int i) => TryGenerationTag(t, i)!.Value;

    /// <summary>(\s*){%(-?)\s*(?:end)?generation\s*(-?)%}(\s*) starting at i.</summary>
    static GenerationTag? TryGenerationTag(string t, int i)
    {
        var j = i;
        while (j < t.Length && char.IsWhiteSpace(t[j])) j++;
        var tagStart = j;
        if (!t.AsSpan(j).StartsWith("{%")) return null;
        j += 2;
        var stripBefore = j < t.Length && t[j] == '-';
        if (stripBefore) j++;
        while (j < t.Length && char.IsWhiteSpace(t[j])) j++;
        var end = t.AsSpan(j).StartsWith("end");
        if (end) j += 3;
        if (!t.AsSpan(j).StartsWith("generation")) return null;
        j += "generation".Length;
        while (j < t.Length && char.IsWhiteSpace(t[j])) j++;
        var stripAfter = j < t.Length && t[j] == '-';
        if (stripAfter) j++;
        if (!t.AsSpan(j).StartsWith("%}")) return null;
        j += 2;
        var tagEnd = j;
        while (j < t.Length && char.IsWhiteSpace(t[j])) j++;
        return new GenerationTag(tagStart, tagEnd, j, end, stripBefore, stripAfter);
    }

    public static List<JinjaToken> Tokenize(string template, string origin)
    {
        var source = Preprocess(template);
        var src = source.Text;
        var tokens = new List<JinjaToken>();
        var pos = 0;
        var curlyDepth = 0;
        TemplateException Error(string message, int at) => new(origin, SourcePosition.Of(template, source.Offsets[Math.Min(at, source.Offsets.Length - 1)]), message);
        void Add(TokenKind kind, string value, int at) => tokens.Add(new JinjaToken(kind, value, source.Offsets[Math.Min(at, source.Offsets.Length - 1)]));
        bool At(string s) => string.CompareOrdinal(src, pos, s, 0, s.Length) == 0 && pos + s.Length <= src.Length;

        void StripTrailingWhitespace()
        {
            if (tokens.Count == 0 || tokens[^1].Kind != TokenKind.Text) return;
            var trimmed = TrimEndKeepingMarks(tokens[^1].Value);
            if (trimmed.Length == 0) tokens.RemoveAt(tokens.Count - 1);
            else tokens[^1] = tokens[^1] with { Value = trimmed };
        }
        void SkipLeadingWhitespace()
        {
            while (pos < src.Length && IsJsWhitespace(src[pos])) pos++;
        }

        while (pos < src.Length)
        {
            var last = tokens.Count == 0 ? (TokenKind?)null : tokens[^1].Kind;
            if (last is null or TokenKind.CloseStatement or TokenKind.CloseExpression or TokenKind.Comment)
            {
                var start = pos;
                while (pos < src.Length && !(src[pos] == '{' && pos + 1 < src.Length && src[pos + 1] is '%' or '{' or '#')) pos++;
                if (pos > start) { Add(TokenKind.Text, src[start..pos], start); continue; }
            }
            if (At("{#"))
            {
                var start = pos;
                pos += 2;
                var stripBefore = pos < src.Length && src[pos] == '-';
                if (stripBefore) pos++;
                var close = src.IndexOf("#}", pos, StringComparison.Ordinal);
                if (close < 0) throw Error("comment is not closed with #}", start);
                var comment = src[pos..close];
                var stripAfter = comment.EndsWith('-');
                if (stripBefore) StripTrailingWhitespace();
                Add(TokenKind.Comment, comment, start);
                pos = close + 2;
                if (stripAfter) SkipLeadingWhitespace();
                continue;
            }
            if (At("{%-")) { StripTrailingWhitespace(); Add(TokenKind.OpenStatement, "{%", pos); pos += 3; continue; }
            if (At("{{-")) { StripTrailingWhitespace(); Add(TokenKind.OpenExpression, "{{", pos); curlyDepth = 0; pos += 3; continue; }
            while (pos < src.Length && IsJsWhitespace(src[pos])) pos++;
            if (pos >= src.Length) break;
            if (At("-%}")) { Add(TokenKind.CloseStatement, "%}", pos); pos += 3; SkipLeadingWhitespace(); continue; }
            if (At("-}}")) { Add(TokenKind.CloseExpression, "}}", pos); pos += 3; SkipLeadingWhitespace(); continue; }
            if (At("{%")) { Add(TokenKind.OpenStatement, "{%", pos); pos += 2; continue; }
            if (At("%}")) { Add(TokenKind.CloseStatement, "%}", pos); pos += 2; continue; }
            if (At("{{")) { Add(TokenKind.OpenExpression, "{{", pos); curlyDepth = 0; pos += 2; continue; }
            if (At("}}") && curlyDepth == 0) { Add(TokenKind.CloseExpression, "}}", pos); pos += 2; continue; }

            var c = src[pos];
            if (c is '-' or '+' && last is not (TokenKind.Identifier or TokenKind.Integer or TokenKind.Float or TokenKind.String)
                && !(tokens.Count > 0 && tokens[^1] is { Kind: TokenKind.Operator, Value: ")" or "]" }))
            {
                if (last is null or TokenKind.Text) throw Error($"unexpected character '{c}'", pos);
                // A sign: part of a number literal when digits follow, else a unary operator.
                var start = pos++;
                var digits = ReadNumber(src, ref pos, allowFraction: true);
                if (digits.Length > 0) Add(digits.Contains('.') ? TokenKind.Float : TokenKind.Integer, c + digits, start);
                else Add(TokenKind.Operator, c == '-' ? "neg" : "pos", start);
                continue;
            }
            var op = Operators.FirstOrDefault(o => At(o.Text));
            if (op.Text is not null)
            {
                Add(TokenKind.Operator, op.Kind, pos);
                if (op.Text == "{") curlyDepth++;
                else if (op.Text == "}") curlyDepth--;
                pos += op.Text.Length;
                continue;
            }
            if (c is '\'' or '"')
            {
                var start = pos++;
                var value = new StringBuilder();
                while (true)
                {
                    if (pos >= src.Length) throw Error("string literal is not closed", start);
                    var ch = src[pos];
                    if (ch == c) { pos++; break; }
                    if (ch == '\\')
                    {
                        if (++pos >= src.Length) throw Error("unexpected end of input in a string escape", pos);
                        var e = src[pos++];
                        if (e is 'x' or 'u')
                        {
                            var length = e == 'x' ? 2 : 4;
                            if (pos + length > src.Length || !int.TryParse(src.AsSpan(pos, length), System.Globalization.NumberStyles.HexNumber, null, out var code))
                                throw Error($"invalid escape \\{e}", pos - 2);
                            value.Append((char)code);
                            pos += length;
                            continue;
                        }
                        value.Append(e switch
                        {
                            'n' => '\n', 't' => '\t', 'r' => '\r', 'b' => '\b', 'f' => '\f', 'v' => '\v',
                            '\'' => '\'', '"' => '"', '\\' => '\\',
                            _ => throw Error($"unexpected escaped character '{e}'", pos - 2),
                        });
                        continue;
                    }
                    value.Append(ch);
                    pos++;
                }
                Add(TokenKind.String, value.ToString(), start);
                continue;
            }
            if (char.IsAsciiDigit(c))
            {
                var start = pos;
                var number = ReadNumber(src, ref pos, allowFraction: !(tokens.Count > 0 && tokens[^1] is { Kind: TokenKind.Operator, Value: "." }));
                Add(number.Contains('.') ? TokenKind.Float : TokenKind.Integer, number, start);
                continue;
            }
            if (IsWordChar(c))
            {
                var start = pos;
                while (pos < src.Length && IsWordChar(src[pos])) pos++;
                Add(TokenKind.Identifier, src[start..pos], start);
                continue;
            }
            throw Error($"unexpected character '{c}'", pos);
        }
        tokens.Add(new JinjaToken(TokenKind.Eof, "", template.Length));
        return tokens;
    }

    static string ReadNumber(string src, ref int pos, bool allowFraction)
    {
        var start = pos;
        while (pos < src.Length && char.IsAsciiDigit(src[pos])) pos++;
        if (pos > start && allowFraction && pos + 1 < src.Length && src[pos] == '.' && char.IsAsciiDigit(src[pos + 1]))
        {
            pos++;
            while (pos < src.Length && char.IsAsciiDigit(src[pos])) pos++;
        }
        return src[start..pos];
    }

    static bool IsWordChar(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';

    /// <summary>JavaScript's \s (what the hub's Jinja trims with "-"): Unicode space separators, line terminators and U+FEFF.</summary>
    public static bool IsJsWhitespace(char c) => c is '\t' or '\n' or '\v' or '\f' or '\r' or ' ' or '\u00a0' or '\u1680' or '\u2028' or '\u2029'
        or '\u202f' or '\u205f' or '\u3000' or '\ufeff' or (>= '\u2000' and <= '\u200a');

    /// <summary>Trims trailing whitespace; generation marks are kept (they are not text) and the blanks before them go too.</summary>
    static string TrimEndKeepingMarks(string s)
    {
        var end = s.Length;
        var marks = new StringBuilder();
        while (end > 0 && (IsJsWhitespace(s[end - 1]) || s[end - 1] is GenerationStart or GenerationEnd))
        {
            if (s[end - 1] is GenerationStart or GenerationEnd) marks.Insert(0, s[end - 1]);
            end--;
        }
        return s[..end] + marks;
    }
}
