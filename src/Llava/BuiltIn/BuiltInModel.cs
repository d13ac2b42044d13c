using MultiLora.Core.Tensors;
using System.Text.Json.Nodes;
using MultiLora.Core.Runtime;
using MultiLora.Llava.Checkpoints;
using MultiLora.Llava.Model;
using static TorchSharp.torch;

namespace MultiLora.Llava.BuiltIn;

/// <summary>
/// Writes a freshly initialised small LLaVA as an ordinary checkpoint folder (config.json,
/// model.safetensors, the built-in tokenizer, preprocessor_config.json), so everything downstream
/// treats it like a downloaded model. Weights are initialised as transformers does (normal, std 0.02).
/// </summary>
public static class BuiltInModel
{
    public const double InitStd = 0.02;

    public static string Write(string dir, TinyLlavaPreset preset, int seed)
    {
        string tokenizer = Directory.CreateTempSubdirectory("multilora-tokenizer-").FullName;
        try
        {
            WriteTokenizerFiles(tokenizer);
            return Write(dir, preset.ToConfig(), seed, tokenizer);
        }
        finally { Directory.Delete(tokenizer, true); }
    }

    /// <summary>
    /// A model of any shape with fresh weights, carrying the tokenizer files of <paramref name="tokenizerDir"/>
    /// (e.g. a hub tokenizer.json with &lt;image&gt; added; the config's vocabulary must cover its ids).
    /// </summary>
    public static string Write(string dir, LlavaConfig config, int seed, string tokenizerDir)
    {
        TorchRuntime.EnsureLoaded();
        manual_seed(seed);
        using var model = new LlavaForConditionalGeneration(config);
        Initialise(model);
        string preprocessor = Directory.CreateTempSubdirectory("multilora-preprocessor-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(preprocessor, "preprocessor_config.json"), PreprocessorJson(config.Vision.ImageSize));
            LlavaSaver.Save(dir, model, [tokenizerDir, preprocessor]);
        }
        finally { Directory.Delete(preprocessor, true); }
        return dir;
    }

    /// <summary>transformers' _init_weights: linear and embedding weights ~ N(0, 0.02), biases 0, norms 1.</summary>
    static void Initialise(LlavaForConditionalGeneration model)
    {
        using var _ = no_grad();
        foreach (var (name, p) in model.named_parameters())
        {
            if (name.Contains("norm", StringComparison.Ordinal)) { if (name.EndsWith("weight", StringComparison.Ordinal)) p.fill_(Scalars.Of(1.0)); else p.zero_(); }
            else if (name.EndsWith("bias", StringComparison.Ordinal)) p.zero_();
            else p.normal_(0, InitStd);
        }
    }

    /// <summary>The built-in tokenizer's files (tokenizer.model, tokenizer.json, tokenizer_config.json) into a folder.</summary>
    public static void WriteTokenizerFiles(string dir)
    {
        var assembly = typeof(BuiltInModel).Assembly;
        foreach (var file in new[] { "tokenizer.model", "tokenizer.json", "tokenizer_config.json" })
        {
            using var stream = assembly.GetManifestResourceStream($"MultiLora.BuiltIn.Tokenizer.{file}")
                ?? throw new InvalidOperationException($"built-in tokenizer resource {file} is missing from the assembly");
            using var output = File.Create(Path.Combine(dir, file));
            stream.CopyTo(output);
        }
    }

    static string PreprocessorJson(int size) => new JsonObject
    {
        ["image_processor_type"] = "CLIPImageProcessor",
        ["do_resize"] = true,
        ["size"] = new JsonObject { ["shortest_edge"] = size },
        ["do_center_crop"] = true,
        ["crop_size"] = new JsonObject { ["height"] = size, ["width"] = size },
        ["do_rescale"] = true,
        ["rescale_factor"] = 1.0 / 255,
        ["do_normalize"] = true,
        ["image_mean"] = new JsonArray(0.48145466, 0.4578275, 0.40821073),
        ["image_std"] = new JsonArray(0.26862954, 0.26130258, 0.27577711),
        ["resample"] = 3,
        ["do_convert_rgb"] = true,
    }.ToJsonString();
}
