using MultiLora.Llava.Model;
using MultiLora.Lora.Quantization;
using static TorchSharp.torch;

namespace MultiLora.Llava.Checkpoints;

/// <summary>How to materialise a model: dtype of weights and activations, device, and overrides of the config.</summary>
/// <param name="Quantize">
/// quantize-on-load: the language model's linears (model.language_model.*, minus the config's skips)
/// are read from the checkpoint one at a time and stored NF4/int8, so the full-precision language
/// model never exists in memory. A checkpoint stored quantized (quantization_config) loads as stored.
/// </param>
public sealed record LoadOptions(
    ScalarType DType = ScalarType.Float32,
    string Device = "cpu",
    int? VisionFeatureLayer = null,
    FeatureSelect? FeatureSelect = null,
    QuantConfig? Quantize = null);

/// <summary>Where the parts of a composed model come from.</summary>
public sealed record CompositionSources(string VisionDir, string LanguageDir, string? ProjectorPath, string ProjectorType = LlavaConfig.Mlp2xGelu);
