namespace MultiLora.Data.Text.Hub;

/// <summary>
/// A tokenizer read from tokenizer.json, giving the ids Hugging Face tokenizers gives: added tokens are cut
/// out of the raw text (normalized=false ones) or of the normalized text (the rest); what remains goes through
/// the normalizer, the pre-tokenizer and the BPE model; the post-processor adds BOS/EOS when special tokens
/// are asked for. tokenizer_config.json names bos/eos/pad and whether decoded text is cleaned up.
/// Thread-safe: the data pipeline's workers share one instance.
/// </summary>
public sealed class HubTokenizer : IModelTokenizer
{
    public const string FileName = "tokenizer.json";

    readonly TokenizerPipeline _pipeline;
    readonly AddedTokenMatcher _rawTokens;
    readonly AddedTokenMatcher _normalizedTokens;
    readonly IPostProcessor? _postProcessor;
    readonly string?[] _tokens;
    readonly Dictionary<string, int> _addedIds;
    readonly HashSet<int> _specialIds;
    readonly bool _cleanUp;
    readonly ByteLevelFastPath? _fastPath;

    public string Source { get; }
    /// <summary>Whether tokens are byte-level strings ("Ġthe"), which read as text only once decoded.</summary>
    public bool IsByteLevel => _pipeline.Decoder is ByteLevelDecoder || _pipeline.Decoder is SequenceDecoder s && s.Contains<ByteLevelDecoder>();
    public int VocabSize { get; }
    public int? BosId { get; }
    public int EosId { get; }
    public int PadId { get; }
    public string? BosToken { get; }
    public string? EosToken { get; }

    HubTokenizer(TokenizerPipeline pipeline, TokenizerConfig config, string source, string configPath)
    {
        _pipeline = pipeline;
        Source = source;
        _rawTokens = new AddedTokenMatcher(pipeline.AddedTokens.Where(t => !t.Normalized));
        _normalizedTokens = new AddedTokenMatcher(pipeline.AddedTokens.Where(t => t.Normalized));
        _addedIds = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var t in pipeline.AddedTokens) _addedIds[t.Content] = t.Id;
        _specialIds = pipeline.AddedTokens.Where(t => t.Special).Select(t => t.Id).ToHashSet();

        var maxId = Math.Max(pipeline.Model.Vocabulary.Count == 0 ? -1 : pipeline.Model.Vocabulary.Values.Max(),
                             pipeline.AddedTokens.Count == 0 ? -1 : pipeline.AddedTokens.Max(t => t.Id));
        VocabSize = maxId + 1;
        _tokens = new string?[VocabSize];
        foreach (var (token, id) in pipeline.Model.Vocabulary) _tokens[id] = token;
        foreach (var t in pipeline.AddedTokens) _tokens[t.Id] = t.Content;

        int Require(string token, string role) => TokenToId(token)
            ?? throw new InvalidDataException($"{configPath}: {role} '{token}' is not in {source}");
        BosToken = config.BosToken;
        EosToken = config.EosToken ?? throw new InvalidDataException($"{configPath}: no eos_token (generation needs to know where a reply ends)");
        BosId = config.BosToken is { } bos ? Require(bos, "bos_token") : null;
        EosId = Require(EosToken, "eos_token");
        PadId = config.PadToken is { } pad ? Require(pad, "pad_token")
              : config.UnkToken is { } unk && TokenToId(unk) is int unkId ? unkId
              : EosId;
        _cleanUp = config.CleanUpTokenizationSpaces;
        _fastPath = ByteLevelFastPath.For(pipeline.PreTokenizer, pipeline.Model);
        _postProcessor = pipeline.PostProcessor;
        if (config.OverridesPostProcessor)
        {
            var pieces = new List<TemplateProcessor.Piece>();
            if (config.AddBosToken ?? true) pieces.Add(new([BosId ?? throw new InvalidDataException($"{configPath}: add_bos_token is set but there is no bos_token")]));
            pieces.Add(new(null));
            if (config.AddEosToken ?? false) pieces.Add(new([EosId]));
            _postProcessor = new TemplateProcessor(pieces);
        }
    }

    /// <summary>Loads tokenizer.json (and tokenizer_config.json when present) from a model folder.</summary>
    public static HubTokenizer Load(string modelDir)
    {
        var path = Path.Combine(modelDir, FileName);
        var pipeline = TokenizerJsonReader.Read(path);
        return new HubTokenizer(pipeline, TokenizerConfig.Load(modelDir), path, Path.Combine(modelDir, TokenizerConfig.FileName));
    }

    public int[] Encode(string text, bool addSpecialTokens) => Array.ConvertAll(EncodeWithSpans(text, addSpecialTokens), t => t.Id);

    public TokenSpan[] EncodeWithSpans(string text, bool addSpecialTokens)
    {
        var result = new List<TokenSpan>();
        var at = 0;
        foreach (var m in _rawTokens.FindAll(text))
        {
            EncodeSegment(text, at, m.Start, result);
            result.Add(new TokenSpan(m.Token.Id, m.Start, m.End));
            at = m.End;
        }
        EncodeSegment(text, at, text.Length, result);
        if (addSpecialTokens && _postProcessor is not null) result = _postProcessor.Process(result, text.Length);
        return result.ToArray();
    }

    void EncodeSegment(string text, int start, int end, List<TokenSpan> into)
    {
        if (start >= end) return;
        var piece = AlignedText.FromOriginal(text, start, end);
        if (_pipeline.Normalizer is { } normalizer) piece = normalizer.Normalize(piece);
        var at = 0;
        foreach (var m in _normalizedTokens.FindAll(piece.Text))
        {
            EncodePiece(piece, at, m.Start, into);
            var (s, e) = piece.OriginalRange(m.Start, m.End);
            into.Add(new TokenSpan(m.Token.Id, s, e));
            at = m.End;
        }
        EncodePiece(piece, at, piece.Length, into);
    }

    void EncodePiece(AlignedText normalized, int from, int to, List<TokenSpan> into)
    {
        if (from >= to) return;
        if (_fastPath is not null) { _fastPath.Encode(normalized, from, to, into); return; }
        var pieces = new List<AlignedText> { from == 0 && to == normalized.Length ? normalized : normalized.Slice(from, to) };
        _pipeline.PreTokenizer?.PreTokenize(pieces);
        foreach (var piece in pieces)
            foreach (var token in _pipeline.Model.Tokenize(piece.Text))
            {
                var (s, e) = piece.OriginalRange(token.Start, token.End);
                into.Add(new TokenSpan(token.Id, s, e));
            }
    }

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true)
    {
        var text = DecodeRaw(ids, skipSpecialTokens);
        return _cleanUp ? CleanUpTokenization.Apply(text) : text;
    }

    /// <summary>tokenizers' decode (without transformers' clean-up): unknown ids are skipped, special ones when asked.</summary>
    public string DecodeRaw(IEnumerable<int> ids, bool skipSpecialTokens)
    {
        var tokens = new List<string>();
        foreach (var id in ids)
        {
            if (skipSpecialTokens && _specialIds.Contains(id)) continue;
            if (IdToToken(id) is { } token) tokens.Add(token);
        }
        return _pipeline.Decoder is { } decoder ? string.Concat(decoder.DecodeChain(tokens)) : string.Join(' ', tokens);
    }

    public int? TokenToId(string token) => _addedIds.TryGetValue(token, out var id) ? id : _pipeline.Model.TokenToId(token);

    public string? IdToToken(int id) => id >= 0 && id < _tokens.Length ? _tokens[id] : null;
}
