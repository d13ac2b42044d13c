using MultiLora.Data.Synthetic;
using MultiLora.Llava.BuiltIn;
using MultiLora.Llava.Training;
using MultiLora.Llava.Training.Recipes;
using MultiLora.Tests.Common;

namespace MultiLora.Tests.Training;

/// <summary>
/// A temp folder with a few synthetic samples and a tiny built-in model, and the short-run recipe the
/// training tests vary (method, steps, dtype, checkpoint interval).
/// </summary>
public sealed class TinyTrainingWorkspace : IDisposable
{
    readonly Fixture.TempDir _tmp = Fixture.Temp();

    public string Root => _tmp.Path;
    public string Data { get; }
    public string Base { get; }

    public TinyTrainingWorkspace()
    {
        Data = System.IO.Path.Combine(Root, "data");
        SyntheticDatasetGenerator.Generate(Data, new SynthOptions { Resolution = 16, Train = 48, Eval = 8, Seed = 1 });
        Base = BuiltInModel.Write(System.IO.Path.Combine(Root, "base"),
            new TinyLlavaPreset(ImageSize: 16, VisionHidden: 32, VisionLayers: 2, TextHidden: 64, TextLayers: 2, TextIntermediate: 128), seed: 1);
    }

    public void Dispose() => _tmp.Dispose();

    public TrainRecipe Recipe(string method, int steps, string output, int saveEvery = 0, string dtype = "float32") => new()
    {
        Model = new ModelSection { Path = Base },
        Data = new DataSection { Mixture = System.IO.Path.Combine(Data, SynthOutput.Stage2Spec), MaxLength = 256, Aspect = "crop" },
        Method = method,
        Template = "llava_hf",
        Lora = new LoraSection { Rank = 8 },
        Optim = new OptimSection { Lr = 3e-3 },
        BatchSize = 4,
        MaxSteps = steps,
        SaveEvery = saveEvery,
        Seed = 3,
        Dtype = dtype,
        OutputDir = System.IO.Path.Combine(Root, output),
    };
}

/// <summary>Keeps every step's metrics of a run.</summary>
public sealed class StepRecorder : ITrainingObserver
{
    public List<StepMetrics> Steps { get; } = [];
    public void Started(string description, int totalSteps, long trainableParameters) { }
    public void Step(StepMetrics metrics) => Steps.Add(metrics);
    public void Message(string text) { }
}
