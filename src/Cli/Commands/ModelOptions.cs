using System.CommandLine;
using MultiLora.Llava.Model;
using MultiLora.Llava.Sessions;
using MultiLora.Lora.Quantization;

namespace MultiLora.Cli.Commands;

/// <summary>The options every model-running command shares, and their mapping onto <see cref="SessionOptions"/>.</summary>
/// <param name="quantizable">offer --quantize (inference commands; merge and quantize need the full-precision weights)</param>
/// <param name="singleAdapter">offer --adapter DIR (serve takes named adapters, --adapter NAME=DIR, itself)</param>
sealed class ModelOptions(bool quantizable = false, bool singleAdapter = true)
{
    readonly Option<string?> _model = new("--model") { Description = "A llava checkpoint folder (llava-hf or transformers layout; single or sharded safetensors)." };
    readonly Option<string?> _vision = new("--vision") { Description = "Compose: a CLIP checkpoint folder (CLIPVisionModel or CLIPModel)." };
    readonly Option<string?> _language = new("--language") { Description = "Compose: a Llama-family checkpoint folder (with its tokenizer, including an <image> token)." };
    readonly Option<string?> _projector = new("--projector") { Description = "Compose: projector weights (a safetensors file or folder with multi_modal_projector.* or mm_projector.*); fresh when omitted." };
    readonly Option<string?> _adapter = new("--adapter") { Description = "A LoRA adapter folder (peft or MultiLora format) applied on top." };
    readonly Option<string> _device = new("--device") { Description = "cpu, cuda, cuda:N or auto.", DefaultValueFactory = _ => "cpu" };
    readonly Option<string> _dtype = new("--dtype") { Description = "float32, bfloat16 or float16.", DefaultValueFactory = _ => "float32" };
    readonly Option<string?> _template = new("--template") { Description = "Conversation template (vicuna_v1, llava_hf, plain, llama_2, chatml, a YAML or .jinja file, or chat_template: the model folder's own). Default: what training saved, else the folder's chat_template, else llava_hf for a checkpoint, vicuna_v1 for a composition." };
    readonly Option<string?> _aspect = new("--image-aspect") { Description = "crop (CLIPImageProcessor) or pad (LLaVA-1.5 expand to square). Default: what the model was trained with (multilora.json), else crop." };
    readonly Option<int?> _resolution = new("--resolution") { Description = "Image resolution (a multiple of the patch size); position embeddings are interpolated when it differs from the tower's." };
    readonly Option<int?> _featureLayer = new("--vision-feature-layer") { Description = "Override the config's vision_feature_layer (e.g. -2)." };
    readonly Option<string?> _select = new("--vision-feature-select") { Description = "Override vision_feature_select_strategy: default (drop CLS) or full." };
    readonly Option<string?> _quantize = new("--quantize") { Description = "Quantize the language model's linears while loading, one at a time (nf4 or int8): the full-precision language model is never in memory." };

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { _model, _vision, _language, _projector, _device, _dtype, _template, _aspect, _resolution, _featureLayer, _select })
            command.Options.Add(o);
        if (singleAdapter) command.Options.Add(_adapter);
        if (quantizable) command.Options.Add(_quantize);
    }

    /// <summary>nf4 (QLoRA's: double quantization, block 64) or int8, as --type / --quantize spell them.</summary>
    public static QuantConfig ParseQuant(string type, string option) => type switch
    {
        "nf4" => new QuantConfig { Type = QuantType.Nf4 },
        "int8" => new QuantConfig { Type = QuantType.Int8 },
        _ => throw new ArgumentException($"{option} {type}: expected nf4 or int8"),
    };

    public SessionOptions Read(ParseResult p) => new(
        new ModelSource(p.GetValue(_model), p.GetValue(_vision), p.GetValue(_language), p.GetValue(_projector), singleAdapter ? p.GetValue(_adapter) : null),
        p.GetValue(_device)!,
        p.GetValue(_dtype)!,
        p.GetValue(_template),
        p.GetValue(_aspect) is { } aspect ? ModelSettings.ParseAspect(aspect, "--image-aspect") : null,
        p.GetValue(_resolution),
        p.GetValue(_featureLayer),
        p.GetValue(_select) is { } s ? LlavaConfig.ParseSelect(s, "--vision-feature-select") : null,
        quantizable && p.GetValue(_quantize) is { } q ? ParseQuant(q, "--quantize") : null);
}

/// <summary>Decoding options shared by generate, chat and forward.</summary>
sealed class DecodingOptions
{
    readonly Option<int> _maxNew = new("--max-new-tokens") { Description = "Most tokens to generate.", DefaultValueFactory = _ => 128 };
    readonly Option<double> _temperature = new("--temperature") { Description = "0 = greedy.", DefaultValueFactory = _ => 0.0 };
    readonly Option<double> _topP = new("--top-p") { Description = "Nucleus sampling mass (1 = off).", DefaultValueFactory = _ => 1.0 };
    readonly Option<int> _topK = new("--top-k") { Description = "Keep the k most likely tokens (0 = off).", DefaultValueFactory = _ => 0 };
    readonly Option<long> _seed = new("--seed") { Description = "Sampling seed.", DefaultValueFactory = _ => 0L };

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { _maxNew, _temperature, _topP, _topK, _seed }) command.Options.Add(o);
    }

    public Llava.Generation.GenerationOptions Read(ParseResult p) =>
        new(p.GetValue(_maxNew), p.GetValue(_temperature), p.GetValue(_topP), p.GetValue(_topK), Seed: p.GetValue(_seed));
}
