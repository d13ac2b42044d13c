using System.Diagnostics;
using System.Globalization;
using MultiLora.Core.Diagnostics;
using MultiLora.Data.Errors;
using MultiLora.Data.Pipeline;
using MultiLora.Data.Specs;
using MultiLora.Data.Synthetic;
using MultiLora.Data.Templates;
using MultiLora.Llava.BuiltIn;
using MultiLora.Llava.Sessions;
using MultiLora.Llava.Training;
using MultiLora.Llava.Training.Recipes;

namespace MultiLora.Benchmarks;

/// <summary>
/// The data loader against the trainer it feeds, in one process: samples/s of the full pipeline (read,
/// tokenize and mask, decode PNG, resize/normalise) on the synthetic stage-2 mixture, and samples/s of
/// stage-2 LoRA training of the built-in small LLaVA on the same data; the ratio must be well above 10.
/// Usage: pipeline [resolution=32] [workers=1] [train-steps=40]
/// </summary>
static class PipelineBenchmark
{
    public static int Run(string[] args)
    {
        int resolution = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 32;
        int workers = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1;
        int steps = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 40;
        var root = Directory.CreateTempSubdirectory("multilora-pipeline-bench-").FullName;
        try
        {
            string data = Path.Combine(root, "data");
            SyntheticDatasetGenerator.Generate(data, new SynthOptions { Resolution = resolution, Train = 2000, Eval = 10 });
            string model = BuiltInModel.Write(Path.Combine(root, "base"), new TinyLlavaPreset(ImageSize: resolution), seed: 0);
            string spec = Path.Combine(data, SynthOutput.Stage2Spec);

            // loader alone
            using var session = LlavaSession.Open(new SessionOptions(new ModelSource(model), Template: "llava_hf"));
            var errors = new DataErrorReport();
            var mixture = MixtureSource.Load(SpecLoader.LoadMixture(spec), errors);
            var sampler = mixture.CreateSampler();
            var encoder = new ConversationEncoder(session.Template, session.Tokenizer, session.Model.Config.ImageTokenId, session.ImageTokens, 4096);
            var pipeline = new SamplePipeline(encoder, session.Images.Process, new PipelineOptions { Workers = workers }, errors);
            var clock = Stopwatch.StartNew();
            long samples = 0, tokens = 0;
            foreach (var s in pipeline.Run(mixture.Epoch(sampler, 0))) { samples++; tokens += s.Encoded.Length; }
            clock.Stop();
            double loaderRate = samples / clock.Elapsed.TotalSeconds;

            // trainer on the same data
            var recipe = new TrainRecipe
            {
                Model = new ModelSection { Path = model },
                Data = new DataSection { Mixture = spec, MaxLength = 4096, Aspect = "crop", Workers = workers },
                Method = "lora", Template = "llava_hf", BatchSize = 16, MaxSteps = steps, LogEvery = 0,
                OutputDir = Path.Combine(root, "train"),
            };
            var observer = new RateObserver();
            Trainer.Run(recipe, observer);
            double trainerRate = observer.SamplesPerSecond;

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"loader: {samples} samples ({tokens / (double)samples:0} tokens each, {resolution}px images, {workers} worker(s)) in {clock.Elapsed.TotalSeconds:0.00} s = {loaderRate:0} samples/s"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"trainer (LoRA r8, batch 16, {steps} steps, steps 6+): {trainerRate:0.0} samples/s; loader/trainer = {loaderRate / trainerRate:0.0}x; peak RSS {MemoryProbe.Format(MemoryProbe.PeakResidentBytes())}"));
            return 0;
        }
        finally { Directory.Delete(root, true); }
    }

    sealed class RateObserver : ITrainingObserver
    {
        readonly List<StepMetrics> _steps = [];
        public double SamplesPerSecond => _steps.Skip(5).Average(s => s.SamplesPerSecond);
        public void Started(string description, int totalSteps, long trainableParameters) { }
        public void Step(StepMetrics metrics) => _steps.Add(metrics);
        public void Message(string text) { }
    }
}
