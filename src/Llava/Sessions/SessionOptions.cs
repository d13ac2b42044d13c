using MultiLora.Data.Images;
using MultiLora.Llava.Model;
using MultiLora.Lora.Quantization;

namespace MultiLora.Llava.Sessions;

/// <summary>Everything that decides how a model is run; CLI options map onto it one to one.</summary>
/// <param name="Quantize">quantize the language model's linears while loading (QLoRA's base, or to fit a model in memory); see LoadOptions.Quantize</param>
public sealed record SessionOptions(
    ModelSource Source,
    string Device = "cpu",
    string DType = "float32",
    string? Template = null,
    AspectMode? Aspect = null,
    int? Resolution = null,
    int? VisionFeatureLayer = null,
    FeatureSelect? FeatureSelect = null,
    QuantConfig? Quantize = null)
{
    /// <summary>
    /// Explicit options win; then multilora.json of the adapter or model folder (what training used);
    /// then llava-hf's conventions for a checkpoint ("USER: &lt;image&gt;\n... ASSISTANT:", crop) and
    /// LLaVA-1.5's for a fresh composition (vicuna_v1).
    /// </summary>
    public SessionOptions Resolve()
    {
        var saved = ModelSettings.Read(Source.AdapterDir) ?? ModelSettings.Read(Source.ModelDir);
        return this with
        {
            Template = Template ?? saved?.Template ?? (Source.IsComposition ? "vicuna_v1" : "llava_hf"),
            Aspect = Aspect ?? (saved?.Aspect is { } a ? ModelSettings.ParseAspect(a, "multilora.json aspect") : AspectMode.Crop),
            Resolution = Resolution ?? saved?.Resolution,
        };
    }
}
