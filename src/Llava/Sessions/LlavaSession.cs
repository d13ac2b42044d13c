using MultiLora.Core.Runtime;
using MultiLora.Data.Images;
using MultiLora.Data.Model;
using MultiLora.Data.Templates;
using MultiLora.Data.Text;
using MultiLora.Llava.Checkpoints;
using MultiLora.Llava.Generation;
using MultiLora.Llava.Model;
using MultiLora.Lora.Adapters;
using MultiLora.Lora.Peft;
using static TorchSharp.torch;

namespace MultiLora.Llava.Sessions;

/// <summary>
/// A loaded model with what it takes to talk to it: tokenizer, image preprocessor, conversation
/// template, device. The one place prompts become ids and images become pixel tensors for inference.
/// The tokenizer and template come from the model folder (<see cref="ModelText"/>): tokenizer.json or
/// tokenizer.model; an explicit or saved template, else the folder's chat_template, else the built-in default.
/// </summary>
public sealed class LlavaSession : IDisposable
{
    public LlavaForConditionalGeneration Model { get; }
    public IModelTokenizer Tokenizer { get; }
    public ImagePreprocessor Images { get; }
    public IChatTemplate Template { get; }
    public Device Device { get; }
    public SessionOptions Options { get; }

    /// <summary>Image placeholder tokens per image at the preprocessor's output size.</summary>
    public int ImageTokens => Model.Config.ImageTokens(Images.OutputHeight);

    LlavaSession(LlavaForConditionalGeneration model, IModelTokenizer tokenizer, ImagePreprocessor images, IChatTemplate template, Device device, SessionOptions options)
    {
        Model = model; Tokenizer = tokenizer; Images = images; Template = template; Device = device; Options = options;
    }

    public static LlavaSession Open(SessionOptions options)
    {
        options = options.Resolve();
        var source = options.Source;
        source.Validate();
        var device = TorchRuntime.ResolveDevice(options.Device);
        var load = new LoadOptions(TorchRuntime.ResolveDType(options.DType), options.Device, options.VisionFeatureLayer, options.FeatureSelect, options.Quantize);
        var text = ModelText.Load(source.TokenizerDir, options.Template, options.DefaultTemplate);
        var tokenizer = text.Tokenizer;
        int imageTokenId = tokenizer.TokenToId("<image>")
            ?? throw new InvalidDataException($"{source.TokenizerDir}: the tokenizer has no <image> token (add it as a special token in tokenizer_config.json / tokenizer.json)");
        var model = source.ModelDir is { } dir
            ? LlavaLoader.Load(dir, load)
            : LlavaLoader.Compose(new CompositionSources(source.VisionDir!, source.LanguageDir!, source.ProjectorPath), imageTokenId, load);
        if (model.Config.ImageTokenId != imageTokenId)
            throw new InvalidDataException($"{source}: config image_token_index {model.Config.ImageTokenId} differs from the tokenizer's <image> id {imageTokenId}");
        var images = new ImagePreprocessor(PreprocessorConfig(source, model.Config),
            new ImagePreprocessOptions(options.Resolution, options.Aspect!.Value, model.Config.Vision.PatchSize));
        var session = new LlavaSession(model, tokenizer, images, text.Template, device, options);
        if (source.AdapterDir is { } adapter) session.LoadAdapter(LoraConfig.DefaultAdapterName, adapter);
        model.eval();
        return session;
    }

    /// <summary>preprocessor_config.json of the llava or vision folder; CLIP's defaults at the tower's size otherwise.</summary>
    static ClipImageProcessorConfig PreprocessorConfig(ModelSource source, LlavaConfig config)
    {
        foreach (var dir in new[] { source.ModelDir, source.VisionDir })
            if (dir is not null && File.Exists(Path.Combine(dir, "preprocessor_config.json")))
                return ClipImageProcessorConfig.Load(dir);
        return ClipImageProcessorConfig.ClipDefaults(config.Vision.ImageSize);
    }

    /// <summary>Adapters loaded on this model, by name; the one in use is <see cref="ActiveAdapter"/> (null: the base alone).</summary>
    public IReadOnlyList<string> Adapters => _adapters;
    public string? ActiveAdapter { get; private set; }
    readonly List<string> _adapters = [];

    /// <summary>Loads a peft (or MultiLora) adapter folder under <paramref name="name"/> next to those already loaded, and makes it active.</summary>
    public void LoadAdapter(string name, string dir)
    {
        if (_adapters.Contains(name)) throw new ArgumentException($"an adapter named '{name}' is already loaded");
        PeftAdapter.Load(dir, Model, name);
        _adapters.Add(name);
        UseAdapter(name);
    }

    /// <summary>
    /// Removes a loaded adapter's LoRA matrices from every layer (the base answers when it was in use). What it
    /// saved in full (modules_to_save) was copied into the model when it loaded and stays: a server that mixes
    /// adapters keeps those per adapter itself.
    /// </summary>
    public void UnloadAdapter(string name)
    {
        if (!_adapters.Remove(name))
            throw new ArgumentException($"no adapter named '{name}' is loaded (loaded: {(_adapters.Count == 0 ? "none" : string.Join(", ", _adapters))})");
        foreach (var (_, lora) in LoraInjector.LoraModules(Model))
            if (lora.Adapters.Contains(name)) lora.RemoveAdapter(name);
        if (ActiveAdapter == name) UseAdapter(null);
    }

    /// <summary>Switches the adapter used for the next requests (null: none, the base model).</summary>
    public void UseAdapter(string? name)
    {
        if (name is not null && !_adapters.Contains(name))
            throw new ArgumentException($"no adapter named '{name}' is loaded (loaded: {(_adapters.Count == 0 ? "none" : string.Join(", ", _adapters))})");
        LoraInjector.SetActiveAdapter(Model, name);
        ActiveAdapter = name;
    }

    /// <summary>Token ids of a raw prompt string (with the tokenizer's special tokens, as HF's processors encode text), each "&lt;image&gt;" expanded to <see cref="ImageTokens"/> copies.</summary>
    public int[] PromptIds(string prompt) => PromptIds(prompt, addSpecialTokens: true);

    /// <summary>Token ids of a prompt; a templated one gets special tokens only where its template leaves them to the tokenizer.</summary>
    public int[] PromptIds(string prompt, bool addSpecialTokens)
    {
        var ids = Tokenizer.Encode(prompt, addSpecialTokens);
        int imageId = Model.Config.ImageTokenId;
        if (!ids.Contains(imageId)) return ids;
        var expanded = new List<int>(ids.Length + ImageTokens);
        foreach (var id in ids)
        {
            if (id == imageId) expanded.AddRange(Enumerable.Repeat(imageId, ImageTokens));
            else expanded.Add(id);
        }
        return expanded.ToArray();
    }

    /// <summary>The templated prompt for a user message after earlier turns.</summary>
    public string Prompt(IReadOnlyList<Turn> history, string userMessage, bool hasImage) =>
        Template.Prompt(history, userMessage, hasImage);

    /// <summary>Preprocessed images stacked as [N, 3, H, W] on the model's device, or null for none.</summary>
    public Tensor? Pixels(IReadOnlyList<RgbImage> images)
    {
        if (images.Count == 0) return null;
        using var scope = NewDisposeScope();
        var tensors = images.Select(i => Images.Process(i)).Select(p => tensor(p.Values, [3, p.Height, p.Width])).ToList();
        return stack(tensors).to(Device).MoveToOuterDisposeScope();
    }

    /// <summary>Stop at the tokenizer's end-of-sequence and at every eos_token_id generation_config.json lists (Llama 3's end-of-turn).</summary>
    public GenerationOptions WithStops(GenerationOptions o)
    {
        var stops = new HashSet<int>(o.StopTokenIds ?? []) { Tokenizer.EosId };
        stops.UnionWith(GenerationStops.Read(Options.Source.TokenizerDir));
        return o with { StopTokenIds = stops, PadTokenId = Tokenizer.PadId };
    }

    /// <summary>
    /// Generates for prompts, one optional image each; returns the decoded replies. <paramref name="templated"/>:
    /// the prompts come from <see cref="Prompt"/> (special tokens as the template wants), else they are raw text.
    /// </summary>
    public List<string> Generate(IReadOnlyList<(string Prompt, RgbImage? Image)> requests, GenerationOptions options, bool templated = true)
    {
        using var scope = NewDisposeScope();
        var ids = requests.Select(r => PromptIds(r.Prompt, !templated || Template.TokenizerAddsSpecialTokens)).ToList();
        var pixels = Pixels(requests.Where(r => r.Image is not null).Select(r => r.Image!).ToList());
        var outputs = LlavaGenerator.Generate(Model, ids, pixels, WithStops(options));
        return outputs.Select(o => Tokenizer.Decode(o, skipSpecialTokens: true).Trim()).ToList();
    }

    public void Dispose() => Model.Dispose();
}
