using MultiLora.Core.Tensors;
using System.Diagnostics;
using MultiLora.Core.Diagnostics;
using MultiLora.Core.Optim;
using MultiLora.Core.Runtime;
using MultiLora.Data.Errors;
using MultiLora.Data.Mixing;
using MultiLora.Data.Pipeline;
using MultiLora.Data.Specs;
using MultiLora.Data.Templates;
using MultiLora.Distributed;
using MultiLora.Llava.Checkpoints;
using MultiLora.Llava.Sessions;
using MultiLora.Llava.Training.Recipes;
using MultiLora.Lora.Peft;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Llava.Training;

/// <summary>What a finished run leaves behind. FirstLoss/LastLoss are means over the first and last ten steps.</summary>
/// <param name="Rank">this process's rank (0 when alone): only rank 0 wrote the outputs</param>
public sealed record TrainResult(string OutputDir, string FinalDir, int Steps, double FirstLoss, double LastLoss, double Seconds, long PeakResidentBytes, DataErrorReport DataErrors, int Rank = 0, int WorldSize = 1);

/// <summary>A step whose loss is NaN or infinite: the run stops and names the step and the batch.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);

/// <summary>
/// The training loop of both LLaVA stages: mixture -> global micro-batches of one modality (each rank decodes and
/// trains on its slice; one process is a world of one) -> token-loss sums / the step's global label tokens ->
/// backward -> gradients summed over ranks -> clip -> AdamW step at the scheduled learning rate.
/// Every step runs in its own dispose scope, so native memory stays flat. Checkpoints (atomic, rank 0) every
/// save_every steps and at the end; --resume continues from the newest one exactly (same data order,
/// optimizer moments, RNG), on this or another number of ranks (docs/distributed.md).
/// </summary>
public sealed class Trainer
{
    const int LossWindow = 10;
    readonly TrainRecipe _r;
    readonly ITrainingObserver _observer;
    readonly ICollectives _collectives;
    readonly LaunchEnvironment _launch;
    readonly string _device;

    Trainer(TrainRecipe recipe, ITrainingObserver observer, ICollectives collectives, LaunchEnvironment launch, string device)
    {
        _r = recipe;
        _collectives = collectives;
        _launch = launch;
        _device = device;
        // progress, messages and files come from rank 0 alone
        _observer = collectives.Rank == 0 ? observer : SilentObserver.Instance;
    }

    /// <summary>
    /// Trains in this process, or as one rank of the world a launcher (mpirun, srun, torchrun) started; an error on
    /// any rank is reported to the others (they stop at once, naming it) before it propagates.
    /// </summary>
    public static TrainResult Run(TrainRecipe recipe, ITrainingObserver observer, bool resume = false, CancellationToken ct = default)
    {
        TorchRuntime.EnsureLoaded();
        var launch = LaunchEnvironment.Detect();
        string device = launch.RankDevice(recipe.Device);
        using var collectives = Collectives.Start(recipe.Distributed.ParsedBackend, launch, TorchRuntime.ResolveDevice(device).type, recipe.Distributed.WatchdogOptions());
        try
        {
            return new Trainer(recipe, observer, collectives, launch, device).Run(resume, ct);
        }
        catch (Exception e)
        {
            collectives.Fail(e.Message);
            throw;
        }
    }

    TrainResult Run(bool resume, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        manual_seed(_r.Seed);
        string mixturePath = _r.Data.Mixture ?? throw new InvalidDataException("recipe: data.mixture (a dataset or mixture spec) is required");
        var source = RecipeSources.Model(_r);
        using var session = LlavaSession.Open(new SessionOptions(source, _device, _r.Dtype, _r.EffectiveTemplate(source.TokenizerDir),
            ModelSettings.ParseAspect(_r.Data.Aspect, "data.aspect"), _r.Data.Resolution, Quantize: TrainingSetup.Quantization(_r)));
        var model = session.Model;
        var trainable = TrainingSetup.Apply(model, _r);
        model.model.language_model.GradientCheckpointing = _r.GradientCheckpointing;
        model.train();
        var parallel = new DataParallel(_collectives, trainable, _r);
        bool writer = parallel.IsRankZero;

        using var optimizer = CreateOptimizer(trainable);
        var errors = new DataErrorReport();
        var mixture = MixtureSource.Load(RecipeSources.Mixture(_r), errors);
        var sampler = mixture.CreateSampler();
        if (sampler.EpochLength == 0) throw new InvalidDataException($"{mixturePath}: the mixture has no samples");
        var encoder = new ConversationEncoder(session.Template, session.Tokenizer, model.Config.ImageTokenId, session.ImageTokens, _r.Data.MaxLength);
        var pipeline = new SamplePipeline(encoder, session.Images.Process, new PipelineOptions { Workers = _r.Data.Workers, MaxLength = _r.Data.MaxLength }, errors);

        // rank 0 alone evaluates; the others go on to the next step's collectives and wait there
        var heldOut = writer && _r.Data.Eval is { } evalSpec && _r.EvalEvery > 0 ? HeldOutSamples(evalSpec, pipeline) : null;

        // one process with batch_size x world would see these micro-batches; each rank trains on its slice of each
        int globalMicroBatch = _r.BatchSize * parallel.WorldSize;
        int samplesPerStep = globalMicroBatch * _r.GradAccum;
        int stepsPerEpoch = (int)Math.Ceiling(sampler.EpochLength / (double)samplesPerStep);
        int totalSteps = _r.MaxSteps ?? _r.Epochs * stepsPerEpoch;
        var schedule = LrSchedule.Create(_r.Optim.Schedule, _r.Optim.WarmupRatio, totalSteps);

        var state = new TrainState(0, 0, 0, 0, null, parallel.WorldSize, globalMicroBatch);
        if (resume && CheckpointStore.Latest(_r.OutputDir) is { } latest)
        {
            state = CheckpointStore.Load(latest, trainable, optimizer);
            RequireSameDataOrder(state, latest, globalMicroBatch);
            if (state.RngStateBase64 is { } rng) set_rng_state(tensor(Convert.FromBase64String(rng)));
            _observer.Message($"resumed from {latest} at step {state.Step}{(state.WorldSize is > 0 and var w && w != parallel.WorldSize ? $" (written by {w} ranks, continuing on {parallel.WorldSize})" : "")}");
            state = state with { WorldSize = parallel.WorldSize, GlobalMicroBatch = globalMicroBatch };
        }
        parallel.BroadcastWeights(trainable);

        using var log = writer ? new MetricsLog(_r.OutputDir) : null;
        if (writer)
            File.WriteAllText(Path.Combine(_r.OutputDir, "recipe.yaml"), new YamlDotNet.Serialization.SerializerBuilder()
                .WithNamingConvention(YamlDotNet.Serialization.NamingConventions.UnderscoredNamingConvention.Instance).Build().Serialize(_r));
        string ranks = parallel.WorldSize > 1 ? $", {parallel.WorldSize} ranks launched by {_launch.Launcher.ToString().ToLowerInvariant()} over {_collectives.Description}, global batch {samplesPerStep}" : "";
        _observer.Started($"stage {_r.Stage} {_r.EffectiveMethod.ToString().ToLowerInvariant()} on {source} ({_r.Dtype}, trained parameters {_r.EffectiveTrainableDtype}{ranks})", totalSteps, trainable.Count);

        // first/last loss reported as means over LossWindow steps (single steps swing with the batch's modality)
        double firstLoss = double.NaN, lastLoss = double.NaN;
        var recentLosses = new Queue<double>();
        var stepClock = Stopwatch.StartNew();
        // a step's micro-batches, gathered first: the loss is divided by the label tokens of all of them (on all ranks)
        var pending = new List<Batch?>(_r.GradAccum);
        long pendingEnd = state.InputsConsumed;
        var parameters = trainable.All.Select(p => p.Parameter).ToList();
        var heap = new HeapReleasePolicy(_r.ParsedReleaseMemory);
        heap.Start();

        while (state.Step < totalSteps)
        {
            ct.ThrowIfCancellationRequested();
            var plan = GlobalBatches.Plan(EpochOrder(mixture, sampler, state.Epoch, globalMicroBatch), state.InputsConsumed, globalMicroBatch).ToList();
            using var mine = pipeline.RunAligned(plan.SelectMany(b => b.Slice(parallel.Rank, _r.BatchSize))).GetEnumerator();

            foreach (var global in plan)
            {
                ct.ThrowIfCancellationRequested();
                pending.Add(LocalBatch(mine, global.Slice(parallel.Rank, _r.BatchSize).Count));
                pendingEnd = global.End;
                if (pending.Count < _r.GradAccum) continue;

                double factor = schedule.Factor(state.Step);
                double lr = _r.Optim.Lr * factor;
                var step = TrainStep(model, session, parallel, pending, state.Step);
                double gradNorm = OptimizerStep(optimizer, parameters, factor);
                pending.Clear();
                recentLosses.Enqueue(step.Loss);
                if (recentLosses.Count > LossWindow) recentLosses.Dequeue();
                lastLoss = recentLosses.Average();
                if (double.IsNaN(firstLoss) && (recentLosses.Count == LossWindow || state.Step + 1 >= totalSteps)) firstLoss = lastLoss;
                state = state with { Step = state.Step + 1, InputsConsumed = pendingEnd, TokensSeen = state.TokensSeen + step.Tokens };
                long resident = MemoryProbe.ResidentBytes();
                if (heap.AfterStep(resident)) resident = MemoryProbe.ResidentBytes();   // inside the step's time: a release is part of its cost
                double seconds = Math.Max(1e-9, stepClock.Elapsed.TotalSeconds);
                double? evalLoss = heldOut is not null && (state.Step % _r.EvalEvery == 0 || state.Step == totalSteps) ? HeldOutLoss(model, heldOut, session) : null;
                var metrics = new StepMetrics(state.Step, totalSteps, state.Epoch, step.Loss, lr, gradNorm, step.Tokens / seconds, step.Samples / seconds,
                    resident, MemoryProbe.PeakResidentBytes(), clock.Elapsed.TotalSeconds, evalLoss, step.Tokens, step.Samples, step.AllReducedBytes, step.CollectiveSeconds);
                if (evalLoss is not null) log?.Write(metrics);
                if (_r.LogEvery > 0 && (state.Step % _r.LogEvery == 0 || state.Step == totalSteps)) log?.Write(metrics);
                _observer.Step(metrics);
                stepClock.Restart();

                if (_r.SaveEvery > 0 && state.Step % _r.SaveEvery == 0 && state.Step < totalSteps)
                    SaveCheckpoint(trainable, optimizer, state, model, parallel);
                if (state.Step >= totalSteps) break;
            }
            if (state.Step >= totalSteps) break;
            // a partial gradient accumulation carries into the next epoch (no drop_last)
            state = state with { Epoch = state.Epoch + 1, InputsConsumed = 0 };
            log?.WriteEvent("epoch_end", new { epoch = state.Epoch, data_errors = errors.Total, first_errors = errors.Examples });
        }

        SaveCheckpoint(trainable, optimizer, state, model, parallel);
        string final = writer ? SaveFinal(session, trainable) : Path.Combine(_r.OutputDir, "final");
        log?.WriteEvent("finished", new { steps = state.Step, seconds = clock.Elapsed.TotalSeconds, data_errors = errors.Total, peak_rss_bytes = MemoryProbe.PeakResidentBytes() });
        if (errors.Total > 0) _observer.Message($"skipped {errors.Total} bad record(s): {string.Join("; ", errors.Examples.Take(3))}");
        return new TrainResult(_r.OutputDir, final, state.Step, firstLoss, lastLoss, clock.Elapsed.TotalSeconds, MemoryProbe.PeakResidentBytes(), errors, parallel.Rank, parallel.WorldSize);
    }

    /// <summary>This rank's samples of one global micro-batch (null when its slice is empty or every record was skipped).</summary>
    static Batch? LocalBatch(IEnumerator<TrainingSample?> aligned, int count)
    {
        var samples = new List<TrainingSample>(count);
        for (int i = 0; i < count; i++)
        {
            if (!aligned.MoveNext()) throw new InvalidOperationException("the sample pipeline ended before the batch plan");
            if (aligned.Current is { } sample) samples.Add(sample);
        }
        return samples.Count > 0 ? new Batch(samples) : null;
    }

    /// <summary>
    /// The grouping's batch size decides the epoch's order, so a checkpoint written with another global micro-batch
    /// points into a different order: refused (unless grouping is off, when the order does not depend on it).
    /// </summary>
    void RequireSameDataOrder(TrainState state, string checkpoint, int globalMicroBatch)
    {
        if (!_r.Data.GroupByModalityLength || state.GlobalMicroBatch is not > 0 || state.GlobalMicroBatch == globalMicroBatch) return;
        throw new InvalidDataException(
            $"{checkpoint}: written with a global micro-batch of {state.GlobalMicroBatch} (batch_size x {state.WorldSize} ranks), this run's is {globalMicroBatch} " +
            $"(batch_size {_r.BatchSize} x {_collectives.WorldSize} ranks): the modality grouping's order differs; keep batch_size x ranks = {state.GlobalMicroBatch} or set data.group_by_modality_length: false");
    }

    /// <summary>What one optimizer step trained on, summed over ranks.</summary>
    readonly record struct StepTotals(double Loss, long Tokens, long Samples, long AllReducedBytes, double CollectiveSeconds);

    /// <summary>
    /// Forward and backward of a step's micro-batches on this rank, then the gradients summed over ranks. Each
    /// micro-batch back-propagates its token-loss sum divided by the label tokens of the whole global step, so the
    /// summed gradient is exactly that of one process training the whole global batch.
    /// </summary>
    StepTotals TrainStep(Llava.Model.LlavaForConditionalGeneration model, LlavaSession session, DataParallel parallel, IReadOnlyList<Batch?> micro, int step)
    {
        var local = micro.OfType<Batch>().ToList();
        long scored = parallel.Sum(local.Sum(b => b.Samples.Sum(s => CausalLmLoss.ScoredTokens(s.Encoded))));
        if (scored == 0)
            throw new InvalidDataException($"step {step + 1}: no label tokens in the whole batch (every answer masked or truncated by data.max_length?)");
        double lossSum = 0;
        foreach (var batch in local) lossSum += MicroStep(model, batch, session, step, scored);
        long bytes = parallel.ReduceGradients();
        var totals = parallel.Sum(lossSum, local.Sum(b => b.Samples.Sum(s => (double)s.Encoded.Length)), local.Sum(b => (double)b.Count));
        // rounded to float32, the loss's own precision: one process with grad_accum 1 then logs the very value
        // torch's mean reduction gives (float32 sum / count, correctly rounded), as before data parallelism
        return new StepTotals((float)(totals[0] / scored), (long)totals[1], (long)totals[2], bytes, parallel.TakeCollectiveSeconds());
    }

    /// <summary>
    /// One AdamW group per learning rate: the language model's (LoRA or full), the projector's, the vision tower's,
    /// in that order (the order TorchSharp's AdamW stored its state in, which old checkpoints' optimizer.bin follows).
    /// </summary>
    AdamW CreateOptimizer(TrainableParameters trainable)
    {
        var o = _r.Optim;
        var groups = new List<AdamWGroup>();
        foreach (var (parameters, lr) in new[] { (trainable.Rest, o.Lr), (trainable.Projector, ProjectorLr), (trainable.VisionTower, o.VisionLr ?? o.Lr) })
            if (parameters.Count > 0) groups.Add(new AdamWGroup(parameters, lr, o.Beta1, o.Beta2, o.Eps, o.WeightDecay));
        if (groups.Count == 0) throw new InvalidOperationException("nothing to train: the method left every parameter frozen");
        return new AdamW(groups);
    }

    /// <summary>Stage 2 trains the projector at its own learning rate (LLaVA's mm_projector_lr); stage 1 at the main one.</summary>
    double ProjectorLr => _r.EffectiveMethod == TrainMethod.Projector ? _r.Optim.Lr : _r.Optim.ProjectorLr ?? _r.Optim.Lr;

    /// <summary>
    /// The epoch's inputs in training order: the text-mix draws, then LLaVA's modality/length grouping with the global
    /// micro-batch as its batch size (the order one process with that batch size would use, whatever the world size).
    /// </summary>
    List<PipelineInput> EpochOrder(MixtureSource mixture, TextMixSampler sampler, int epoch, int globalMicroBatch)
    {
        var inputs = mixture.Epoch(sampler, epoch).ToList();
        if (!_r.Data.GroupByModalityLength) return inputs;
        var lengths = inputs.Select(i => ModalityLengthGrouping.ModalityLength(i.Conversation)).ToList();
        var order = ModalityLengthGrouping.GroupedIndices(lengths, globalMicroBatch, 1, new SeededRandom(_r.Seed, $"group/{epoch}"));
        return order.Select(i => inputs[i]).ToList();
    }

    /// <summary>Consecutive samples in batches that never mix image and text-only samples.</summary>
    static IEnumerable<Batch> ModalityBatches(IEnumerable<TrainingSample> samples, int size)
    {
        var current = new List<TrainingSample>(size);
        foreach (var s in samples)
        {
            if (current.Count > 0 && (current.Count == size || current[0].HasImage != s.HasImage))
            {
                yield return new Batch(current);
                current = new List<TrainingSample>(size);
            }
            current.Add(s);
        }
        if (current.Count > 0) yield return new Batch(current);
    }

    /// <summary>The first eval_samples samples of the held-out spec, prepared once.</summary>
    List<Batch> HeldOutSamples(string spec, SamplePipeline pipeline)
    {
        var mixture = MixtureSource.Load(SpecLoader.LoadMixture(spec), new DataErrorReport());
        var inputs = mixture.Main.Concat(mixture.TextOnly).Take(_r.Data.EvalSamples);
        var batches = ModalityBatches(pipeline.Run(inputs), _r.BatchSize).ToList();
        if (batches.Count == 0) throw new InvalidDataException($"{spec}: the held-out spec has no samples");
        return batches;
    }

    /// <summary>Mean token loss over the held-out batches, without gradients and in eval mode.</summary>
    double HeldOutLoss(Llava.Model.LlavaForConditionalGeneration model, List<Batch> batches, LlavaSession session)
    {
        model.eval();
        try
        {
            using var _ = no_grad();
            double weighted = 0;
            long tokens = 0;
            foreach (var batch in batches)
            {
                using var scope = NewDisposeScope();
                using var t = BatchTensors.From(batch, session.Tokenizer.PadId, session.Device, PixelType(model));
                long scored = CausalLmLoss.ScoredTokens(t.Labels);
                weighted += CausalLmLoss.Compute(model.Forward(t.InputIds, t.Pixels), t.Labels).item<float>() * scored;
                tokens += scored;
            }
            return weighted / Math.Max(1, tokens);
        }
        finally { model.train(); }
    }

    /// <summary>Pixels go in the frozen tower's dtype (under mixed precision the trained parts may differ from it).</summary>
    static ScalarType PixelType(Llava.Model.LlavaForConditionalGeneration model) => model.model.vision_tower.parameters().First().dtype;

    /// <summary>Forward and backward of one micro-batch, its token-loss sum scaled by 1 / the step's global label tokens; returns the sum.</summary>
    double MicroStep(Llava.Model.LlavaForConditionalGeneration model, Batch batch, LlavaSession session, int step, long stepLabelTokens)
    {
        using var scope = NewDisposeScope();
        using var tensors = BatchTensors.From(batch, session.Tokenizer.PadId, session.Device, PixelType(model));
        var logits = model.Forward(tensors.InputIds, tensors.Pixels);
        var loss = CausalLmLoss.Sum(logits, tensors.Labels);
        double value = loss.item<float>();
        if (double.IsNaN(value) || double.IsInfinity(value))
            throw new TrainingDivergedException($"step {step + 1}: loss is {value} on the batch of {string.Join(", ", batch.Samples.Select(s => s.Origin).Take(8))}");
        // a text-only batch in stage 1 reaches no trained parameter (the projector sees no image): no gradient, so
        // this micro-batch moves nothing, as PyTorch leaves a parameter without a gradient (backward would refuse it);
        // under data parallelism such a gradient is zeros on this rank if another rank has one, absent if none has
        if (!loss.requires_grad) return value;
        using var perToken = (1.0 / stepLabelTokens).ToScalar();   // changes every step: owned, alive through the call
        loss.mul(perToken).backward();
        return value;
    }

    /// <summary>
    /// Clip over the gradients that exist, AdamW at the scheduled rates, then gradients to none (PyTorch's
    /// zero_grad(set_to_none=True)): a parameter that gets no gradient in the next step (the projector on a text-only
    /// batch) is then left alone, as PyTorch leaves it, and a resumed process, whose parameters start without
    /// gradients, takes exactly the steps the uninterrupted one takes.
    /// </summary>
    double OptimizerStep(AdamW optimizer, List<TorchSharp.Modules.Parameter> parameters, double scheduleFactor)
    {
        double norm = _r.Optim.MaxGradNorm > 0 ? Gradients.ClipGradNorm(parameters, _r.Optim.MaxGradNorm) : Gradients.Norm(parameters);
        if (double.IsNaN(norm) || double.IsInfinity(norm))
            throw new TrainingDivergedException($"gradient norm is {norm}: stopping before the update");
        optimizer.Step(optimizer.Groups.Select(g => g.Lr * scheduleFactor).ToList());
        Gradients.SetToNone(parameters);
        return norm;
    }

    /// <summary>Rank 0 writes; first every rank checks that the replicas still hold identical weights.</summary>
    void SaveCheckpoint(TrainableParameters trainable, AdamW optimizer, TrainState state, nn.Module model, DataParallel parallel)
    {
        parallel.RequireIdenticalReplicas(trainable, state.Step);
        if (!parallel.IsRankZero) return;
        using var rng = get_rng_state();
        var withRng = state with { RngStateBase64 = Convert.ToBase64String(rng.bytes.ToArray()) };
        string dir = CheckpointStore.Save(_r.OutputDir, trainable, optimizer, withRng, model, _r.Model.Path);
        _observer.Message($"checkpoint {dir}");
    }

    /// <summary>
    /// OUTPUT/final: a complete llava folder for projector and full training (usable as the next stage's
    /// model), or a peft adapter folder (with the projector as modules_to_save) for LoRA and QLoRA.
    /// </summary>
    string SaveFinal(LlavaSession session, TrainableParameters trainable)
    {
        string final = Path.Combine(_r.OutputDir, "final");
        var settings = new ModelSettings(session.Template.Name, _r.Data.Aspect, _r.Data.Resolution).ToJson();
        if (trainable.Lora is { } lora)
        {
            AtomicDirectory.Write(final, temp =>
            {
                PeftAdapter.Save(temp, session.Model, lora, _r.Model.Path);
                File.WriteAllText(Path.Combine(temp, ModelSettings.FileName), settings);
            });
        }
        else
        {
            LlavaSaver.Save(final, session.Model, session.Options.Source.CompanionDirs, extraFiles: new Dictionary<string, string> { [ModelSettings.FileName] = settings });
        }
        _observer.Message($"saved {final}");
        return final;
    }
}
