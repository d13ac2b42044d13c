using System.Text;
using Microsoft.ML.Tokenizers;

namespace MultiLora.Data.Text;

/// <summary>
/// A Llama-family SentencePiece tokenizer (tokenizer.model, BPE with byte fallback) that gives the ids HF's
/// tokenizer gives: text is split around added tokens (which map to their ids directly), each remaining
/// segment gets "▁" per <see cref="PrefixSpaceRule"/>, spaces become "▁", and the BPE runs through
/// Microsoft.ML.Tokenizers with its own normalization off (we did it, HF-style).
/// </summary>
public sealed class HfTokenizer : IModelTokenizer
{
    public const string ModelFile = "tokenizer.model";
    const char Metaspace = '\u2581';

    readonly SentencePieceTokenizer _sentencePiece;
    readonly AddedTokenSplitter _splitter;
    readonly PieceDecoder _decoder;
    readonly Dictionary<string, int> _tokenIds;

    public TokenizerSettings Settings { get; }
    public int VocabSize { get; }
    public int? BosId { get; }
    public int EosId { get; }
    public int UnkId { get; }
    /// <summary>
    /// The configured pad_token's id (llava-hf configs name "&lt;pad&gt;"); else 0, the id HF-based LLaVA
    /// training ends up with for Llama (it sets pad = unk, and unk is id 0). Labels mask padding anyway.
    /// </summary>
    public int PadId { get; }
    public PrefixSpaceRule PrefixRule => Settings.PrefixRule;
    public string Source { get; }
    public string? BosToken => Settings.BosToken;
    public string? EosToken => Settings.EosToken;

    HfTokenizer(SentencePieceTokenizer sentencePiece, TokenizerSettings settings, string modelDir)
    {
        _sentencePiece = sentencePiece;
        Settings = settings;
        Source = Path.Combine(modelDir, ModelFile);
        _tokenIds = new Dictionary<string, int>(sentencePiece.Vocabulary, StringComparer.Ordinal);
        foreach (var t in settings.AddedTokens) _tokenIds[t.Content] = t.Id;
        VocabSize = _tokenIds.Values.Max() + 1;

        int Require(string token, string role) => _tokenIds.TryGetValue(token, out var id) ? id
            : throw new InvalidDataException($"{Path.Combine(modelDir, TokenizerSettings.ConfigFile)}: {role} '{token}' is not in the vocabulary");
        BosId = Require(settings.BosToken, "bos_token");
        EosId = Require(settings.EosToken, "eos_token");
        UnkId = Require(settings.UnkToken, "unk_token");
        PadId = settings.PadToken is null ? 0 : Require(settings.PadToken, "pad_token");

        _splitter = new AddedTokenSplitter(settings.AddedTokens);
        var special = new HashSet<int>(settings.AddedTokens.Where(t => t.Special).Select(t => t.Id)) { BosId.Value, EosId, UnkId };
        if (settings.PadToken is not null) special.Add(PadId);
        _decoder = new PieceDecoder(_tokenIds, special);
    }

    /// <summary>Loads tokenizer.model plus tokenizer_config.json / tokenizer.json (optional) from a model folder.</summary>
    public static HfTokenizer Load(string modelDir)
    {
        var modelPath = Path.Combine(modelDir, ModelFile);
        if (!File.Exists(modelPath))
            throw new FileNotFoundException($"{modelPath}: SentencePiece tokenizer.model not found (only Llama-family SentencePiece tokenizers are supported)", modelPath);
        var settings = TokenizerSettings.Load(modelDir);
        SentencePieceTokenizer sp;
        try
        {
            using var stream = File.OpenRead(modelPath);
            sp = LlamaTokenizer.Create(stream, addBeginOfSentence: false, addEndOfSentence: false);
        }
        catch (Exception e) when (e is not IOException)
        {
            throw new InvalidDataException($"{modelPath}: not a readable SentencePiece BPE model ({e.Message})", e);
        }
        return new HfTokenizer(sp, settings, modelDir);
    }

    public int[] Encode(string text, bool addSpecialTokens) => Array.ConvertAll(EncodeWithSpans(text, addSpecialTokens), t => t.Id);

    /// <param name="addSpecialTokens">BOS in front (as add_bos_token), and EOS after when the config sets add_eos_token.</param>
    public TokenSpan[] EncodeWithSpans(string text, bool addSpecialTokens)
    {
        var result = new List<TokenSpan>();
        if (addSpecialTokens && Settings.AddBos) result.Add(new TokenSpan(BosId!.Value, 0, 0));
        foreach (var segment in _splitter.Split(text))
        {
            if (segment.AddedTokenId is int id) result.Add(new TokenSpan(id, segment.Start, segment.End));
            else EncodeSegment(text, segment.Start, segment.End, result);
        }
        if (addSpecialTokens && Settings.AddEos) result.Add(new TokenSpan(EosId, text.Length, text.Length));
        return result.ToArray();
    }

    void EncodeSegment(string text, int start, int end, List<TokenSpan> into)
    {
        if (start == end) return;
        var startsWithSpace = text[start] == ' ';
        var prefix = Settings.PrefixRule switch
        {
            PrefixSpaceRule.FirstSegment => start == 0 && !startsWithSpace,
            PrefixSpaceRule.EverySegmentUnlessSpace => !startsWithSpace,
            PrefixSpaceRule.EverySegment => true,
            _ => false,
        };
        var shift = prefix ? 1 : 0;
        var normalized = (prefix ? Metaspace.ToString() : "") + text[start..end].Replace(' ', Metaspace);
        var tokens = _sentencePiece.EncodeToTokens(normalized, out _, addBeginningOfSentence: false, addEndOfSentence: false,
                                                   considerPreTokenization: false, considerNormalization: false);
        foreach (var t in tokens)
        {
            // Offsets are in the normalized text: undo the one-character prefix; the prefix itself covers nothing.
            var (s, e) = (t.Offset.Start.GetOffset(normalized.Length), t.Offset.End.GetOffset(normalized.Length));
            into.Add(new TokenSpan(t.Id, start + Math.Max(0, s - shift), start + Math.Max(0, e - shift)));
        }
    }

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true) => _decoder.Decode(ids, skipSpecialTokens);

    public int? TokenToId(string token) => _tokenIds.TryGetValue(token, out var id) ? id : null;

    /// <summary>The vocabulary string of an id ("▁The", "&lt;0x0A&gt;", "&lt;image&gt;"), or null.</summary>
    public string? IdToToken(int id) => _decoder.Piece(id);
}
