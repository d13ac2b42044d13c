using MultiLora.Data.Images;
using MultiLora.Llava.Model;

namespace MultiLora.Llava.Sessions;

/// <summary>Everything that decides how a model is run; CLI options map onto it one to one.</summary>
public sealed record SessionOptions(
    ModelSource Source,
    string Device = "cpu",
    string DType = "float32",
    string? Template = null,
    AspectMode Aspect = AspectMode.Crop,
    int? Resolution = null,
    int? VisionFeatureLayer = null,
    FeatureSelect? FeatureSelect = null)
{
    /// <summary>llava-hf checkpoints are prompted "USER: &lt;image&gt;\n... ASSISTANT:"; a fresh composition follows LLaVA-1.5 (vicuna_v1).</summary>
    public string ResolveTemplate() => Template ?? (Source.IsComposition ? "vicuna_v1" : "llava_hf");
}
