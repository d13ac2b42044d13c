using MultiLora.Language;
using MultiLora.Llava.Model;
using MultiLora.Vision;

namespace MultiLora.Llava.BuiltIn;

/// <summary>
/// The shape of the small LLaVA MultiLora builds for itself (quickstart, tests, examples): a CLIP-style
/// tower and a Llama-style decoder small enough to train on a 2-core CPU in minutes.
/// </summary>
public sealed record TinyLlavaPreset(
    int ImageSize = 32,
    int PatchSize = 8,
    int VisionHidden = 192,
    int VisionLayers = 3,
    int VisionHeads = 4,
    int TextHidden = 128,
    int TextLayers = 4,
    int TextHeads = 4,
    int TextKvHeads = 2,
    int TextIntermediate = 344)
{
    /// <summary>The built-in tokenizer's &lt;image&gt; id; the vocabulary is padded to 408 rows (a multiple of 8).</summary>
    public const int ImageTokenId = 400;
    public const int VocabSize = 408;

    public LlavaConfig ToConfig() => new(
        new ClipVisionConfig(VisionHidden, VisionHidden * 4, VisionLayers, VisionHeads, ImageSize, PatchSize, 3, 1e-5, "quick_gelu"),
        new LlamaConfig(VocabSize, TextHidden, TextIntermediate, TextLayers, TextHeads, TextKvHeads, TextHidden / TextHeads, 1e-5,
            new RopeSettings(10000.0), MaxPositions: 2048, AttentionBias: false, OutputProjectionBias: false, MlpBias: false,
            TieWordEmbeddings: false, BosTokenId: 1, EosTokenId: 2, PadTokenId: 0, ModelType: "llama"),
        ImageTokenId, VisionFeatureLayer: -2, FeatureSelect.Patches, LlavaConfig.Mlp2xGelu, "gelu", ProjectorBias: true);
}
