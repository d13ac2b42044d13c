using System.Text;

namespace MultiLora.Data.Text.Hub;

/// <summary>A tokenizer.json "decoder" step: token strings in, token strings out (tokenizers' decode_chain).</summary>
public interface ITokenDecoder
{
    List<string> DecodeChain(List<string> tokens);
}

/// <summary>ByteLevel: all tokens' chars back to bytes, read as UTF-8 (invalid sequences become U+FFFD).</summary>
public sealed class ByteLevelDecoder : ITokenDecoder
{
    public List<string> DecodeChain(List<string> tokens)
    {
        var bytes = new List<byte>();
        foreach (var token in tokens)
        {
            var mark = bytes.Count;
            var mapped = true;
            foreach (var c in token)
            {
                if (!ByteLevelAlphabet.TryByte(c, out var b)) { mapped = false; break; }
                bytes.Add(b);
            }
            // A token with a char outside the alphabet (an added token such as "<image> ") keeps its own UTF-8 bytes.
            if (!mapped) { bytes.RemoveRange(mark, bytes.Count - mark); bytes.AddRange(Encoding.UTF8.GetBytes(token)); }
        }
        return [Encoding.UTF8.GetString(bytes.ToArray())];
    }
}

/// <summary>Metaspace: "▁" back to a space; in the first token (unless the prepend scheme is "never") it is dropped.</summary>
public sealed class MetaspaceDecoder(char replacement, PrependScheme scheme) : ITokenDecoder
{
    public List<string> DecodeChain(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        for (var i = 0; i < tokens.Count; i++)
        {
            var dropFirst = i == 0 && scheme != PrependScheme.Never;
            var text = new StringBuilder(tokens[i].Length);
            foreach (var c in tokens[i])
                if (c != replacement) text.Append(c);
                else if (!dropFirst) text.Append(' ');
            result.Add(text.ToString());
        }
        return result;
    }
}

/// <summary>ByteFallback: runs of &lt;0xNN&gt; tokens become their UTF-8 text, or one U+FFFD per byte when not valid UTF-8.</summary>
public sealed class ByteFallbackDecoder : ITokenDecoder
{
    static readonly UTF8Encoding Strict = new(false, throwOnInvalidBytes: true);

    public List<string> DecodeChain(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        var bytes = new List<byte>();
        foreach (var token in tokens)
        {
            if (TryByte(token, out var b)) { bytes.Add(b); continue; }
            Flush(bytes, result);
            result.Add(token);
        }
        Flush(bytes, result);
        return result;
    }

    static void Flush(List<byte> bytes, List<string> into)
    {
        if (bytes.Count == 0) return;
        try { into.Add(Strict.GetString(bytes.ToArray())); }
        catch (DecoderFallbackException) { for (var i = 0; i < bytes.Count; i++) into.Add("\uFFFD"); }
        bytes.Clear();
    }

    public static bool TryByte(string token, out byte value)
    {
        value = 0;
        return token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>'
            && byte.TryParse(token.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out value);
    }
}

/// <summary>Fuse: all tokens into one string.</summary>
public sealed class FuseDecoder : ITokenDecoder
{
    public List<string> DecodeChain(List<string> tokens) => [string.Concat(tokens)];
}

/// <summary>Strip: from each token, up to <c>start</c> leading and <c>stop</c> trailing copies of a char.</summary>
public sealed class StripDecoder(char content, int start, int stop) : ITokenDecoder
{
    public List<string> DecodeChain(List<string> tokens) => tokens.Select(token =>
    {
        int from = 0, to = token.Length;
        while (from < Math.Min(start, token.Length) && token[from] == content) from++;
        for (var i = 0; i < stop && to > from && token[to - 1] == content; i++) to--;
        return token[from..to];
    }).ToList();
}

/// <summary>Replace: a pattern replaced in every token.</summary>
public sealed class ReplaceDecoder(ISplitPattern pattern, string content) : ITokenDecoder
{
    public List<string> DecodeChain(List<string> tokens) => tokens.Select(token =>
    {
        var matches = new List<(int Start, int End)>();
        pattern.FindMatches(token, matches);
        if (matches.Count == 0) return token;
        var text = new StringBuilder(token.Length);
        var at = 0;
        foreach (var (s, e) in matches) { text.Append(token, at, s - at).Append(content); at = e; }
        return text.Append(token, at, token.Length - at).ToString();
    }).ToList();
}

public sealed class SequenceDecoder(IReadOnlyList<ITokenDecoder> steps) : ITokenDecoder
{
    public bool Contains<T>() where T : ITokenDecoder => steps.Any(s => s is T || s is SequenceDecoder inner && inner.Contains<T>());

    public List<string> DecodeChain(List<string> tokens)
    {
        foreach (var step in steps) tokens = step.DecodeChain(tokens);
        return tokens;
    }
}
