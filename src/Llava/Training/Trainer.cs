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
using MultiLora.Llava.Checkpoints;
using MultiLora.Llava.Sessions;
using MultiLora.Llava.Training.Recipes;
using MultiLora.Lora.Peft;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Llava.Training;

/// <summary>What a finished run leaves behind. FirstLoss/LastLoss are means over the first and last ten steps.</summary>
public sealed record TrainResult(string OutputDir, string FinalDir, int Steps, double FirstLoss, double LastLoss, double Seconds, long PeakResidentBytes, DataErrorReport DataErrors);

/// <summary>A step whose loss is NaN or infinite: the run stops and names the step and the batch.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);

/// <summary>
/// The training loop of both LLaVA stages: mixture -> samples (background workers) -> micro-batches of one
/// modality -> loss / grad_accum -> backward -> clip -> AdamW step at the scheduled learning rate.
/// Every step runs in its own dispose scope, so native memory stays flat. The host stays off a GPU's critical path:
/// the next batch's (pinned) host tensors are made on a background thread, the step reads nothing back, and losses
/// and gradient norms are read every read_every steps in one transfer (<see cref="PendingSteps"/>). Checkpoints (atomic) every
/// save_every steps and at the end; --resume continues from the newest one exactly (same data order,
/// optimizer moments, RNG).
/// </summary>
public sealed class Trainer
{
    const int LossWindow = 10;
    readonly TrainRecipe _r;
    readonly ITrainingObserver _observer;

    Trainer(TrainRecipe recipe, ITrainingObserver observer)
    {
        _r = recipe;
        _observer = observer;
    }

    public static TrainResult Run(TrainRecipe recipe, ITrainingObserver observer, bool resume = false, CancellationToken ct = default) =>
        new Trainer(recipe, observer).Run(resume, ct);

    TrainResult Run(bool resume, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        TorchRuntime.EnsureLoaded();
        manual_seed(_r.Seed);
        string mixturePath = _r.Data.Mixture ?? throw new InvalidDataException("recipe: data.mixture (a dataset or mixture spec) is required");
        var source = RecipeSources.Model(_r);
        using var session = LlavaSession.Open(new SessionOptions(source, _r.Device, _r.Dtype, _r.EffectiveTemplate(source.TokenizerDir),
            ModelSettings.ParseAspect(_r.Data.Aspect, "data.aspect"), _r.Data.Resolution, Quantize: TrainingSetup.Quantization(_r)));
        var model = session.Model;
        var trainable = TrainingSetup.Apply(model, _r);
        model.model.language_model.GradientCheckpointing = _r.GradientCheckpointing;
        model.train();

        using var optimizer = CreateOptimizer(trainable);
        var errors = new DataErrorReport();
        var mixture = MixtureSource.Load(RecipeSources.Mixture(_r), errors);
        var sampler = mixture.CreateSampler();
        if (sampler.EpochLength == 0) throw new InvalidDataException($"{mixturePath}: the mixture has no samples");
        var encoder = new ConversationEncoder(session.Template, session.Tokenizer, model.Config.ImageTokenId, session.ImageTokens, _r.Data.MaxLength);
        var pipeline = new SamplePipeline(encoder, session.Images.Process, new PipelineOptions { Workers = _r.Data.Workers, MaxLength = _r.Data.MaxLength }, errors);

        var heldOut = _r.Data.Eval is { } evalSpec && _r.EvalEvery > 0 ? HeldOutSamples(evalSpec, pipeline) : null;

        int samplesPerStep = _r.BatchSize * _r.GradAccum;
        int stepsPerEpoch = (int)Math.Ceiling(sampler.EpochLength / (double)samplesPerStep);
        int totalSteps = _r.MaxSteps ?? _r.Epochs * stepsPerEpoch;
        var schedule = LrSchedule.Create(_r.Optim.Schedule, _r.Optim.WarmupRatio, totalSteps);

        var state = new TrainState(0, 0, 0, 0, null);
        if (resume && CheckpointStore.Latest(_r.OutputDir) is { } latest)
        {
            state = CheckpointStore.Load(latest, trainable, optimizer);
            if (state.RngStateBase64 is { } rng) set_rng_state(tensor(Convert.FromBase64String(rng)));
            _observer.Message($"resumed from {latest} at step {state.Step}");
        }

        using var log = new MetricsLog(_r.OutputDir);
        File.WriteAllText(Path.Combine(_r.OutputDir, "recipe.yaml"), new YamlDotNet.Serialization.SerializerBuilder()
            .WithNamingConvention(YamlDotNet.Serialization.NamingConventions.UnderscoredNamingConvention.Instance).Build().Serialize(_r));
        _observer.Started($"stage {_r.Stage} {_r.EffectiveMethod.ToString().ToLowerInvariant()} on {source} ({_r.Dtype}, trained parameters {_r.EffectiveTrainableDtype})", totalSteps, trainable.Count);

        // first/last loss reported as means over LossWindow steps (single steps swing with the batch's modality)
        double firstLoss = double.NaN, lastLoss = double.NaN;
        var recentLosses = new Queue<double>();
        // losses and gradient norms stay on the device until a read point (a GPU's queue is not drained every step);
        // the steps' other metrics wait for them in `unread`
        using var pending = new PendingSteps();
        var unread = new List<StepMetrics>();
        int readEvery = _r.EffectiveReadEvery(session.Device);
        void Report(List<PendingSteps.Read> reads)
        {
            foreach (var (read, partial) in reads.Zip(unread))
            {
                var metrics = partial with { Loss = read.Loss, GradNorm = read.GradNorm };
                recentLosses.Enqueue(metrics.Loss);
                if (recentLosses.Count > LossWindow) recentLosses.Dequeue();
                lastLoss = recentLosses.Average();
                if (double.IsNaN(firstLoss) && (recentLosses.Count == LossWindow || metrics.Step >= totalSteps)) firstLoss = lastLoss;
                if (metrics.EvalLoss is not null || (_r.LogEvery > 0 && (metrics.Step % _r.LogEvery == 0 || metrics.Step == totalSteps))) log.Write(metrics);
                _observer.Step(metrics);
            }
            unread.Clear();
        }
        long stepTokens = 0, stepSamples = 0;
        var stepClock = Stopwatch.StartNew();
        int micro = 0;
        var parameters = trainable.All.Select(p => p.Parameter).ToList();
        var heap = new HeapReleasePolicy(_r.ParsedReleaseMemory);
        heap.Start();

        while (state.Step < totalSteps)
        {
            ct.ThrowIfCancellationRequested();
            var order = EpochOrder(mixture, sampler, state.Epoch);
            var positions = new Dictionary<string, Queue<long>>(StringComparer.Ordinal);
            for (long i = state.InputsConsumed; i < order.Count; i++)
            {
                string origin = order[(int)i].Conversation.Origin;
                if (!positions.TryGetValue(origin, out var q)) positions[origin] = q = new Queue<long>();
                q.Enqueue(i);
            }
            var remaining = order.Skip((int)state.InputsConsumed);

            // the next batch's host tensors (pinned for a GPU) are made on a background thread while this one trains
            var prepared = ModalityBatches(pipeline.Run(remaining), _r.BatchSize)
                .Select(b => BatchTensors.Host(b, session.Tokenizer.PadId, PixelType(model), model.Config.ImageTokenId, pin: session.Device.type == DeviceType.CUDA));
            foreach (var batch in BatchPrefetch.Ahead(prepared))
            {
                using var _ = batch;
                ct.ThrowIfCancellationRequested();
                long lastPosition = batch.Origins.Max(o => positions[o].Dequeue());
                MicroStep(model, batch, session, pending);
                stepTokens += batch.Tokens;
                stepSamples += batch.Samples;
                state = state with { InputsConsumed = lastPosition + 1 };
                if (++micro < _r.GradAccum) continue;

                micro = 0;
                double factor = schedule.Factor(state.Step);
                double lr = _r.Optim.Lr * factor;
                int done = state.Step + 1;
                bool evalDue = heldOut is not null && (done % _r.EvalEvery == 0 || done == totalSteps);
                bool saveDue = _r.SaveEvery > 0 && done % _r.SaveEvery == 0;
                using (var norm = ClipGradients(parameters, session.Device)) pending.CloseStep(norm, payload: done);
                // read points: every read_every steps, the last step, and before an evaluation or a checkpoint (so no
                // checkpoint is written past an unchecked step); each read is checked before this step's update
                var reads = done % readEvery == 0 || done == totalSteps || evalDue || saveDue ? pending.ReadAll() : null;
                if (reads is not null) StopIfDiverged(reads);
                OptimizerStep(optimizer, parameters, factor);
                state = state with { Step = done, TokensSeen = state.TokensSeen + stepTokens };
                unread.Add(StepMetricsNow(state, lr, evalDue ? HeldOutLoss(model, heldOut!, session) : null));
                if (reads is not null) Report(reads);
                stepTokens = 0; stepSamples = 0; stepClock.Restart();

                if (saveDue && state.Step < totalSteps)
                    SaveCheckpoint(trainable, optimizer, state, model);
                if (state.Step >= totalSteps) break;
            }
            if (state.Step >= totalSteps) break;
            // a partial gradient accumulation carries into the next epoch (no drop_last)
            state = state with { Epoch = state.Epoch + 1, InputsConsumed = 0 };
            log.WriteEvent("epoch_end", new { epoch = state.Epoch, data_errors = errors.Total, first_errors = errors.Examples });
        }
        Report(pending.ReadAll());   // nothing is left unread at the last step; kept for safety

        StepMetrics StepMetricsNow(TrainState at, double lr, double? evalLoss)
        {
            long resident = MemoryProbe.ResidentBytes();
            if (heap.AfterStep(resident)) resident = MemoryProbe.ResidentBytes();   // inside the step's time: a release is part of its cost
            double seconds = Math.Max(1e-9, stepClock.Elapsed.TotalSeconds);
            // loss and gradient norm are filled in when the step is read (Report)
            return new StepMetrics(at.Step, totalSteps, at.Epoch, double.NaN, lr, double.NaN, stepTokens / seconds, stepSamples / seconds,
                resident, MemoryProbe.PeakResidentBytes(), clock.Elapsed.TotalSeconds, evalLoss, stepTokens, stepSamples);
        }

        SaveCheckpoint(trainable, optimizer, state, model);
        string final = SaveFinal(session, trainable);
        log.WriteEvent("finished", new { steps = state.Step, seconds = clock.Elapsed.TotalSeconds, data_errors = errors.Total, peak_rss_bytes = MemoryProbe.PeakResidentBytes() });
        if (errors.Total > 0) _observer.Message($"skipped {errors.Total} bad record(s): {string.Join("; ", errors.Examples.Take(3))}");
        return new TrainResult(_r.OutputDir, final, state.Step, firstLoss, lastLoss, clock.Elapsed.TotalSeconds, MemoryProbe.PeakResidentBytes(), errors);
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

    /// <summary>The epoch's inputs in training order: the text-mix draws, then LLaVA's modality/length grouping.</summary>
    List<PipelineInput> EpochOrder(MixtureSource mixture, TextMixSampler sampler, int epoch)
    {
        var inputs = mixture.Epoch(sampler, epoch).ToList();
        if (!_r.Data.GroupByModalityLength) return inputs;
        var lengths = inputs.Select(i => ModalityLengthGrouping.ModalityLength(i.Conversation)).ToList();
        var order = ModalityLengthGrouping.GroupedIndices(lengths, _r.BatchSize, 1, new SeededRandom(_r.Seed, $"group/{epoch}"));
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

    /// <summary>
    /// Forward and backward of one micro-batch; its mean token loss stays on the device in <paramref name="pending"/>.
    /// Nothing is read back: the image-token count (and the scored positions, for scored_logits_only) come with the
    /// host batch.
    /// </summary>
    void MicroStep(Llava.Model.LlavaForConditionalGeneration model, BatchTensors host, LlavaSession session, PendingSteps pending)
    {
        using var scope = NewDisposeScope();
        using var onDevice = session.Device.type == DeviceType.CPU ? null : host.To(session.Device);
        var tensors = onDevice ?? host;
        var loss = _r.ScoredLogitsOnly
            ? CausalLmLoss.ComputeScored(model.HiddenStates(tensors.InputIds, tensors.Pixels, imageTokens: tensors.ImageTokens), model.lm_head, tensors.ScoredRows, tensors.ScoredTargets)
            : CausalLmLoss.Compute(model.Forward(tensors.InputIds, tensors.Pixels, imageTokens: tensors.ImageTokens), tensors.Labels);
        // a text-only batch in stage 1 reaches no trained parameter (the projector sees no image): no gradient, so
        // this micro-batch moves nothing, as PyTorch leaves a parameter without a gradient (backward would refuse it)
        if (loss.requires_grad) loss.DividedBy(_r.GradAccum).backward();
        pending.AddMicroLoss(loss, host.Origins);
    }

    /// <summary>A NaN or infinite loss or gradient norm in the steps just read stops the run, naming the step and the batch.</summary>
    static void StopIfDiverged(List<PendingSteps.Read> reads)
    {
        foreach (var read in reads)
        {
            int step = (int)read.Payload!;
            foreach (var (loss, origins) in read.MicroBatches)
                if (double.IsNaN(loss) || double.IsInfinity(loss))
                    throw new TrainingDivergedException($"step {step}: loss is {loss} on the batch of {string.Join(", ", origins.Take(8))}");
            if (double.IsNaN(read.GradNorm) || double.IsInfinity(read.GradNorm))
                throw new TrainingDivergedException($"step {step}: gradient norm is {read.GradNorm}: stopping (no checkpoint is written past it)");
        }
    }

    /// <summary>
    /// Clip over the gradients that exist (max_grad_norm 0: only their norm), on the device: the total norm before
    /// clipping, not read back (0 when no parameter has a gradient, the projector on a stage-1 text-only step).
    /// </summary>
    Tensor ClipGradients(List<TorchSharp.Modules.Parameter> parameters, Device device) =>
        (_r.Optim.MaxGradNorm > 0 ? Gradients.ClipGradNormOnDevice(parameters, _r.Optim.MaxGradNorm) : Gradients.NormOnDevice(parameters))
        ?? zeros(1, dtype: ScalarType.Float32, device: device);

    /// <summary>
    /// AdamW at the scheduled rates, then gradients to none (PyTorch's zero_grad(set_to_none=True)): a parameter that
    /// gets no gradient in the next step (the projector on a text-only batch) is then left alone, as PyTorch leaves it,
    /// and a resumed process, whose parameters start without gradients, takes exactly the steps the uninterrupted one takes.
    /// </summary>
    void OptimizerStep(AdamW optimizer, List<TorchSharp.Modules.Parameter> parameters, double scheduleFactor)
    {
        optimizer.Step(optimizer.Groups.Select(g => g.Lr * scheduleFactor).ToList());
        Gradients.SetToNone(parameters);
    }

    void SaveCheckpoint(TrainableParameters trainable, AdamW optimizer, TrainState state, nn.Module model)
    {
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
