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
    /// the template then falls to the model folder's own chat_template (see ChatTemplates), then to
    /// <see cref="DefaultTemplate"/>; the aspect mode to crop.
    /// </summary>
    public SessionOptions Resolve()
    {
        var saved = ModelSettings.Read(Source.AdapterDir) ?? ModelSettings.Read(Source.ModelDir);
        return this with
        {
            Template = Template ?? saved?.Template,
            Aspect = Aspect ?? (saved?.Aspect is { } a ? ModelSettings.ParseAspect(a, "multilora.json aspect") : AspectMode.Crop),
            Resolution = Resolution ?? saved?.Resolution,
        };
    }

    /// <summary>The built-in template when nothing names one and the folder has no chat_template: llava-hf's convention for a checkpoint ("USER: &lt;image&gt;\n... ASSISTANT:"), LLaVA-1.5's (vicuna_v1) for a fresh composition.</summary>
    public string DefaultTemplate => Source.IsComposition ? "vicuna_v1" : "llava_hf";
}
