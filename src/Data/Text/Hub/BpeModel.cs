using System.Collections.Concurrent;
using System.Text;

namespace MultiLora.Data.Text.Hub;

/// <summary>One token of a piece: its id and the chars [Start, End) of the piece it covers.</summary>
public readonly record struct PieceToken(int Id, int Start, int End);

/// <summary>The BPE model's options as tokenizer.json states them.</summary>
public sealed record BpeOptions(
    string? UnkToken = null,
    string? ContinuingSubwordPrefix = null,
    string? EndOfWordSuffix = null,
    bool FuseUnk = false,
    bool ByteFallback = false,
    bool IgnoreMerges = false);

/// <summary>
/// tokenizers' BPE model: a word starts as one symbol per char (the continuing-subword prefix on all but the
/// first, the end-of-word suffix on the last; chars outside the vocabulary become &lt;0xNN&gt; byte tokens with
/// byte_fallback, else the unknown token, fused if asked, else nothing), then the adjacent pair with the
/// lowest merge rank is merged, leftmost first, until no pair has a rank. With ignore_merges a word that is
/// itself in the vocabulary is taken whole. Results are cached per word (thread-safe: data workers share it).
/// </summary>
public sealed class BpeModel
{
    const int CacheCapacity = 100_000;

    readonly Dictionary<string, int> _vocab;
    readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _vocabBySpan;
    readonly Dictionary<long, long> _merges; // (left id, right id) -> (rank, merged id)
    readonly int[] _charIds; // BMP char -> id when the char alone is a token (no prefix/suffix involved), else -1
    readonly int[] _byteIds; // byte -> id of "<0xNN>" (byte_fallback), -1 when absent
    readonly int? _unkId;
    readonly BpeOptions _options;
    readonly ConcurrentDictionary<string, PieceToken[]> _cache = new(StringComparer.Ordinal);
    readonly ConcurrentDictionary<string, PieceToken[]>.AlternateLookup<ReadOnlySpan<char>> _cacheBySpan;

    public IReadOnlyDictionary<string, int> Vocabulary => _vocab;

    public BpeModel(Dictionary<string, int> vocab, IEnumerable<(string Left, string Right)> merges, BpeOptions options, string origin)
    {
        _vocab = vocab;
        _vocabBySpan = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        _cacheBySpan = _cache.GetAlternateLookup<ReadOnlySpan<char>>();
        _options = options with
        {
            ContinuingSubwordPrefix = string.IsNullOrEmpty(options.ContinuingSubwordPrefix) ? null : options.ContinuingSubwordPrefix,
            EndOfWordSuffix = string.IsNullOrEmpty(options.EndOfWordSuffix) ? null : options.EndOfWordSuffix,
        };
        if (options.UnkToken is { } unk)
            _unkId = vocab.TryGetValue(unk, out var u) ? u : throw new InvalidDataException($"{origin}: model.unk_token '{unk}' is not in the vocabulary");

        _charIds = new int[0x10000];
        Array.Fill(_charIds, -1);
        foreach (var (token, id) in vocab)
            if (token.Length == 1) _charIds[token[0]] = id;
        _byteIds = new int[256];
        for (var b = 0; b < 256; b++) _byteIds[b] = vocab.TryGetValue($"<0x{b:X2}>", out var id) ? id : -1;

        var prefixLength = _options.ContinuingSubwordPrefix?.Length ?? 0;
        _merges = new Dictionary<long, long>();
        var rank = 0;
        foreach (var (left, right) in merges)
        {
            if (!vocab.TryGetValue(left, out var a)) throw new InvalidDataException($"{origin}: model.merges[{rank}]: '{left}' is not in the vocabulary");
            if (!vocab.TryGetValue(right, out var b)) throw new InvalidDataException($"{origin}: model.merges[{rank}]: '{right}' is not in the vocabulary");
            var merged = left + right[Math.Min(prefixLength, right.Length)..];
            if (!vocab.TryGetValue(merged, out var m)) throw new InvalidDataException($"{origin}: model.merges[{rank}]: the merge '{merged}' is not in the vocabulary");
            _merges.TryAdd(Key(a, b), ((long)rank << 32) | (uint)m);
            rank++;
        }
    }

    static long Key(int a, int b) => ((long)a << 32) | (uint)b;

    public int? TokenToId(string token) => _vocab.TryGetValue(token, out var id) ? id : null;

    /// <summary>Tokens of one pre-tokenized piece given as chars (no string is made when the cache has it).</summary>
    public PieceToken[] Tokenize(ReadOnlySpan<char> word) =>
        word.Length > 0 && _cacheBySpan.TryGetValue(word, out var hit) ? hit : Tokenize(word.ToString());

    /// <summary>Tokens of one pre-tokenized piece.</summary>
    public PieceToken[] Tokenize(string word)
    {
        if (word.Length == 0) return [];
        if (_cache.TryGetValue(word, out var hit)) return hit;
        var tokens = _options.IgnoreMerges && _vocab.TryGetValue(word, out var whole) ? [new PieceToken(whole, 0, word.Length)] : Merge(InitialSymbols(word));
        if (_cache.Count >= CacheCapacity) _cache.Clear(); // bounded memory; a cleared cache only costs speed
        _cache[word] = tokens;
        return tokens;
    }

    struct Symbol
    {
        public int Id, Start, End, Prev, Next;
    }

    List<Symbol> InitialSymbols(string word)
    {
        var symbols = new List<Symbol>(word.Length);
        void Add(int id, int start, int end) => symbols.Add(new Symbol { Id = id, Start = start, End = end });
        (int Id, int Start, int End)? unk = null;
        var prefix = _options.ContinuingSubwordPrefix;
        var suffix = _options.EndOfWordSuffix;
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < word.Length;)
        {
            var width = char.IsHighSurrogate(word[i]) && i + 1 < word.Length && char.IsLowSurrogate(word[i + 1]) ? 2 : 1;
            var (isFirst, isLast) = (i == 0, i + width == word.Length);
            int id;
            string? symbol = null;
            if (width == 1 && (prefix is null || isFirst) && (suffix is null || !isLast)) id = _charIds[word[i]];
            else
            {
                symbol = (isFirst || prefix is null ? "" : prefix) + word.Substring(i, width) + (isLast && suffix is not null ? suffix : "");
                id = _vocabBySpan.TryGetValue(symbol, out var found) ? found : -1;
            }
            if (id >= 0)
            {
                if (unk is { } u) { Add(u.Id, u.Start, u.End); unk = null; }
                Add(id, i, i + width);
            }
            else if (!TryByteFallback(symbol ?? word.Substring(i, width), i, i + width, symbols, utf8))
            {
                if (_unkId is int unkId)
                {
                    if (unk is { } u && _options.FuseUnk) unk = (u.Id, u.Start, i + width);
                    else
                    {
                        if (unk is { } previous) Add(previous.Id, previous.Start, previous.End);
                        unk = (unkId, i, i + width);
                    }
                }
            }
            i += width;
        }
        if (unk is { } last) Add(last.Id, last.Start, last.End);
        return symbols;
    }

    bool TryByteFallback(string symbol, int start, int end, List<Symbol> into, Span<byte> scratch)
    {
        if (!_options.ByteFallback) return false;
        var bytes = Encoding.UTF8.GetBytes(symbol);
        foreach (var b in bytes) if (_byteIds[b] < 0) return false;
        foreach (var b in bytes) into.Add(new Symbol { Id = _byteIds[b], Start = start, End = end });
        return true;
    }

    PieceToken[] Merge(List<Symbol> list)
    {
        var symbols = list.ToArray();
        for (var i = 0; i < symbols.Length; i++) { symbols[i].Prev = i - 1; symbols[i].Next = i + 1 < symbols.Length ? i + 1 : -1; }
        var queue = new PriorityQueue<(int Pos, int NewId), long>();
        for (var i = 0; i + 1 < symbols.Length; i++)
            if (_merges.TryGetValue(Key(symbols[i].Id, symbols[i + 1].Id), out var m)) queue.Enqueue((i, (int)m), Priority(m, i));
        var removed = new bool[symbols.Length];
        while (queue.TryDequeue(out var top, out _))
        {
            ref var current = ref symbols[top.Pos];
            if (removed[top.Pos] || current.Next < 0) continue;
            var nextPos = current.Next;
            var right = symbols[nextPos];
            // A stale entry: the pair has changed since it was queued.
            if (!_merges.TryGetValue(Key(current.Id, right.Id), out var now) || (int)now != top.NewId) continue;
            current.Id = top.NewId;
            current.End = right.End;
            current.Next = right.Next;
            removed[nextPos] = true;
            if (right.Next >= 0) symbols[right.Next].Prev = top.Pos;
            if (current.Prev >= 0 && _merges.TryGetValue(Key(symbols[current.Prev].Id, current.Id), out var withPrev))
                queue.Enqueue((current.Prev, (int)withPrev), Priority(withPrev, current.Prev));
            if (current.Next >= 0 && _merges.TryGetValue(Key(current.Id, symbols[current.Next].Id), out var withNext))
                queue.Enqueue((top.Pos, (int)withNext), Priority(withNext, top.Pos));
        }
        var result = new List<PieceToken>(symbols.Length);
        for (var i = 0; i < symbols.Length; i++)
            if (!removed[i]) result.Add(new PieceToken(symbols[i].Id, symbols[i].Start, symbols[i].End));
        return result.ToArray();
    }

    // Lowest rank first, then leftmost (tokenizers' Merge ordering).
    static long Priority(long merge, int pos) => (merge & unchecked((long)0xFFFFFFFF00000000)) | (uint)pos;
}
