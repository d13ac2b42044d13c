using System.Text;
using System.Text.Json;

namespace MultiLora.Data.Text.Hub;

/// <summary>The components of a tokenizer.json, built; what <see cref="HubTokenizer"/> runs.</summary>
public sealed record TokenizerPipeline(
    ITextNormalizer? Normalizer,
    IPreTokenizer? PreTokenizer,
    BpeModel Model,
    IPostProcessor? PostProcessor,
    ITokenDecoder? Decoder,
    IReadOnlyList<HubAddedToken> AddedTokens);

/// <summary>
/// Reads tokenizer.json (the file transformers' fast tokenizers load). Every component it does not implement
/// is refused with one line naming the file, the JSON path of the component and its type; broken JSON names
/// the line and byte where parsing stopped.
/// </summary>
public static class TokenizerJsonReader
{
    public static TokenizerPipeline Read(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (FileNotFoundException) { throw new FileNotFoundException($"{path}: tokenizer.json not found", path); }
        JsonDocument doc;
        try { doc = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = 256 }); }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: invalid JSON at line {(e.LineNumber ?? 0) + 1}, byte {(e.BytePositionInLine ?? 0) + 1} ({FirstSentence(e.Message)})", e);
        }
        using (doc)
        {
            var r = new Reader(path);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw r.Error("$", "expected a JSON object");
            var added = r.AddedTokens(root);
            return new TokenizerPipeline(
                r.Optional(root, "normalizer", r.Normalizer),
                r.Optional(root, "pre_tokenizer", r.PreTokenizer),
                r.Model(r.Required(root, "model", "$"), "model"),
                r.Optional(root, "post_processor", r.PostProcessor),
                r.Optional(root, "decoder", r.Decoder),
                added);
        }
    }

    static string FirstSentence(string message)
    {
        var cut = message.IndexOf(" LineNumber", StringComparison.Ordinal);
        return (cut > 0 ? message[..cut] : message).TrimEnd(' ', '.');
    }

    sealed class Reader(string path)
    {
        public InvalidDataException Error(string where, string what) => new($"{path}: {where}: {what}");

        public T? Optional<T>(JsonElement parent, string key, Func<JsonElement, string, T> build) where T : class =>
            parent.TryGetProperty(key, out var e) && e.ValueKind != JsonValueKind.Null ? build(e, key) : null;

        public JsonElement Required(JsonElement parent, string key, string where) =>
            parent.TryGetProperty(key, out var e) && e.ValueKind != JsonValueKind.Null ? e : throw Error(where, $"missing '{key}'");

        string Type(JsonElement e, string where) =>
            e.ValueKind == JsonValueKind.Object && e.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String
                ? t.GetString()! : throw Error(where, "component has no 'type'");

        string String(JsonElement e, string key, string where, string? fallback = null) =>
            e.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()!
            : fallback ?? throw Error(where, $"missing string '{key}'");

        string? NullableString(JsonElement e, string key, string where) =>
            !e.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null ? null
            : v.ValueKind == JsonValueKind.String ? v.GetString() : throw Error(where, $"'{key}' must be a string or null");

        bool Bool(JsonElement e, string key, bool fallback, string where) =>
            !e.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null ? fallback
            : v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : throw Error(where, $"'{key}' must be true or false");

        int Int(JsonElement e, string key, int fallback, string where) =>
            !e.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null ? fallback
            : v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : throw Error(where, $"'{key}' must be an integer");

        char Char(JsonElement e, string key, string where, string fallback)
        {
            var s = String(e, key, where, fallback);
            return s.Length == 1 ? s[0] : throw Error(where, $"'{key}' must be one character, got '{s}'");
        }

        IEnumerable<(JsonElement Item, string Where)> Items(JsonElement e, string key, string where)
        {
            var list = Required(e, key, where);
            if (list.ValueKind != JsonValueKind.Array) throw Error(where, $"'{key}' must be a list");
            var i = 0;
            foreach (var item in list.EnumerateArray()) yield return (item, $"{where}.{key}[{i++}]");
        }

        static NotSupportedException Unsupported(string path, string where, string kind, string type, string known) =>
            new($"{path}: {where}: {kind} '{type}' is not supported (supported: {known})");

        public ISplitPattern Pattern(JsonElement e, string where)
        {
            var p = Required(e, "pattern", where);
            if (p.TryGetProperty("String", out var s) && s.ValueKind == JsonValueKind.String) return new LiteralPattern(s.GetString()!);
            if (p.TryGetProperty("Regex", out var r) && r.ValueKind == JsonValueKind.String)
            {
                var regex = r.GetString()!;
                if (KnownRegexScanner.For(regex) is { } known) return known;
                try { return new DotNetRegexPattern(regex); }
                catch (ArgumentException x) { throw Error($"{where}.pattern", $"regex does not compile ({x.Message})"); }
            }
            throw Error($"{where}.pattern", "expected {\"String\": ...} or {\"Regex\": ...}");
        }

        public ITextNormalizer Normalizer(JsonElement e, string where) => Type(e, where) switch
        {
            "NFC" => new UnicodeNormalizer(NormalizationForm.FormC),
            "NFD" => new UnicodeNormalizer(NormalizationForm.FormD),
            "NFKC" => new UnicodeNormalizer(NormalizationForm.FormKC),
            "NFKD" => new UnicodeNormalizer(NormalizationForm.FormKD),
            "Lowercase" => new LowercaseNormalizer(),
            "Strip" => new StripNormalizer(Bool(e, "strip_left", true, where), Bool(e, "strip_right", true, where)),
            "Prepend" => new PrependNormalizer(String(e, "prepend", where)),
            "Replace" => new ReplaceNormalizer(Pattern(e, where), String(e, "content", where)),
            "Sequence" => new SequenceNormalizer(Items(e, "normalizers", where).Select(x => Normalizer(x.Item, x.Where)).ToArray()),
            var t => throw Unsupported(path, where, "normalizer", t, "NFC, NFD, NFKC, NFKD, Lowercase, Strip, Prepend, Replace, Sequence"),
        };

        public IPreTokenizer PreTokenizer(JsonElement e, string where) => Type(e, where) switch
        {
            "ByteLevel" => new ByteLevelPreTokenizer(Bool(e, "add_prefix_space", true, where), Bool(e, "use_regex", true, where)),
            "Split" => new SplitPreTokenizer(Pattern(e, where), Behavior(String(e, "behavior", where), where), Bool(e, "invert", false, where)),
            "Metaspace" => new MetaspacePreTokenizer(Char(e, "replacement", where, "\u2581"), Scheme(e, where), Bool(e, "split", true, where)),
            "Digits" => new DigitsPreTokenizer(Bool(e, "individual_digits", false, where)),
            "Sequence" => new SequencePreTokenizer(Items(e, "pretokenizers", where).Select(x => PreTokenizer(x.Item, x.Where)).ToArray()),
            var t => throw Unsupported(path, where, "pre-tokenizer", t, "ByteLevel, Split, Metaspace, Digits, Sequence"),
        };

        SplitBehavior Behavior(string name, string where) => name switch
        {
            "Removed" => SplitBehavior.Removed,
            "Isolated" => SplitBehavior.Isolated,
            "MergedWithPrevious" => SplitBehavior.MergedWithPrevious,
            "MergedWithNext" => SplitBehavior.MergedWithNext,
            "Contiguous" => SplitBehavior.Contiguous,
            _ => throw Error(where, $"split behavior '{name}' is not one of Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous"),
        };

        /// <summary>prepend_scheme, or (tokenizers before 0.14) add_prefix_space: true = always, false = never.</summary>
        PrependScheme Scheme(JsonElement e, string where) => NullableString(e, "prepend_scheme", where) switch
        {
            "first" => PrependScheme.First,
            "always" => PrependScheme.Always,
            "never" => PrependScheme.Never,
            null => Bool(e, "add_prefix_space", true, where) ? PrependScheme.Always : PrependScheme.Never,
            var s => throw Error(where, $"prepend_scheme '{s}' is not one of first, always, never"),
        };

        public BpeModel Model(JsonElement e, string where)
        {
            var type = e.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "BPE";
            if (type != "BPE") throw Unsupported(path, where, "model", type, "BPE");
            if (e.TryGetProperty("dropout", out var dropout) && dropout.ValueKind == JsonValueKind.Number && dropout.GetDouble() > 0)
                throw Error(where, "BPE dropout is random at encoding time and is not supported");
            var vocabElement = Required(e, "vocab", where);
            if (vocabElement.ValueKind != JsonValueKind.Object) throw Error($"{where}.vocab", "must be an object of token -> id");
            var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var p in vocabElement.EnumerateObject())
                vocab[p.Name] = p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetInt32(out var id) ? id : throw Error($"{where}.vocab", $"id of '{p.Name}' is not an integer");
            var merges = new List<(string, string)>();
            foreach (var (item, at) in Items(e, "merges", where))
            {
                if (item.ValueKind == JsonValueKind.String)
                {
                    var parts = item.GetString()!.Split(' ');
                    if (parts.Length != 2) throw Error(at, $"merge '{item.GetString()}' is not two tokens separated by one space");
                    merges.Add((parts[0], parts[1]));
                }
                else if (item.ValueKind == JsonValueKind.Array && item.GetArrayLength() == 2 && item[0].ValueKind == JsonValueKind.String && item[1].ValueKind == JsonValueKind.String)
                    merges.Add((item[0].GetString()!, item[1].GetString()!));
                else throw Error(at, "a merge must be \"a b\" or [\"a\", \"b\"]");
            }
            var options = new BpeOptions(NullableString(e, "unk_token", where), NullableString(e, "continuing_subword_prefix", where),
                NullableString(e, "end_of_word_suffix", where), Bool(e, "fuse_unk", false, where), Bool(e, "byte_fallback", false, where),
                Bool(e, "ignore_merges", false, where));
            return new BpeModel(vocab, merges, options, $"{path}: {where}");
        }

        public IPostProcessor PostProcessor(JsonElement e, string where) => Type(e, where) switch
        {
            "TemplateProcessing" => Template(e, where),
            "ByteLevel" => new NoTokensPostProcessor(),
            "BertProcessing" or "RobertaProcessing" => new TemplateProcessor([new(SpecialPair(e, "cls", where)), new(null), new(SpecialPair(e, "sep", where))]),
            "Sequence" => new SequencePostProcessor(Items(e, "processors", where).Select(x => PostProcessor(x.Item, x.Where)).ToArray()),
            var t => throw Unsupported(path, where, "post-processor", t, "TemplateProcessing, ByteLevel, BertProcessing, RobertaProcessing, Sequence"),
        };

        int[] SpecialPair(JsonElement e, string key, string where)
        {
            var pair = Required(e, key, where);
            return pair.ValueKind == JsonValueKind.Array && pair.GetArrayLength() == 2 && pair[1].TryGetInt32(out var id)
                ? [id] : throw Error($"{where}.{key}", "expected [token, id]");
        }

        TemplateProcessor Template(JsonElement e, string where)
        {
            var specials = Required(e, "special_tokens", where);
            var pieces = new List<TemplateProcessor.Piece>();
            foreach (var (item, at) in Items(e, "single", where))
            {
                if (item.TryGetProperty("Sequence", out _)) { pieces.Add(new(null)); continue; }
                if (!item.TryGetProperty("SpecialToken", out var special)) throw Error(at, "expected {\"SpecialToken\": ...} or {\"Sequence\": ...}");
                var name = String(special, "id", at);
                if (!specials.TryGetProperty(name, out var entry)) throw Error(at, $"special token '{name}' is not in special_tokens");
                pieces.Add(new(Items(entry, "ids", $"{where}.special_tokens.{name}")
                    .Select(x => x.Item.TryGetInt32(out var id) ? id : throw Error(x.Where, "id must be an integer")).ToArray()));
            }
            return new TemplateProcessor(pieces);
        }

        public ITokenDecoder Decoder(JsonElement e, string where) => Type(e, where) switch
        {
            "ByteLevel" => new ByteLevelDecoder(),
            "Metaspace" => new MetaspaceDecoder(Char(e, "replacement", where, "\u2581"), Scheme(e, where)),
            "ByteFallback" => new ByteFallbackDecoder(),
            "Fuse" => new FuseDecoder(),
            "Strip" => new StripDecoder(Char(e, "content", where, " "), Int(e, "start", 0, where), Int(e, "stop", 0, where)),
            "Replace" => new ReplaceDecoder(Pattern(e, where), String(e, "content", where)),
            "Sequence" => new SequenceDecoder(Items(e, "decoders", where).Select(x => Decoder(x.Item, x.Where)).ToArray()),
            var t => throw Unsupported(path, where, "decoder", t, "ByteLevel, Metaspace, ByteFallback, Fuse, Strip, Replace, Sequence"),
        };

        public IReadOnlyList<HubAddedToken> AddedTokens(JsonElement root)
        {
            if (!root.TryGetProperty("added_tokens", out var list) || list.ValueKind == JsonValueKind.Null) return [];
            return Items(root, "added_tokens", "$").Select(x =>
            {
                var id = Int(x.Item, "id", -1, x.Where);
                if (id < 0) throw Error(x.Where, "missing 'id'");
                return new HubAddedToken(id, String(x.Item, "content", x.Where), Bool(x.Item, "special", false, x.Where),
                    Bool(x.Item, "single_word", false, x.Where), Bool(x.Item, "lstrip", false, x.Where), Bool(x.Item, "rstrip", false, x.Where),
                    Bool(x.Item, "normalized", !Bool(x.Item, "special", false, x.Where), x.Where));
            }).ToArray();
        }
    }
}
