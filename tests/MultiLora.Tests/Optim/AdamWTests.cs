using MultiLora.Core.Optim;
using MultiLora.Core.Tensors;
using static TorchSharp.torch;
using Parameter = TorchSharp.Modules.Parameter;

namespace MultiLora.Tests.Optim;

/// <summary>Our AdamW's and gradient helpers' behaviour beyond the torch reference: skipping, set-to-none, Scalar lifetime.</summary>
public sealed class AdamWTests
{
    [Fact]
    public void ParameterWithoutGradient_IsNotTouched_AndItsStepDoesNotCount()
    {
        using var scope = NewDisposeScope();
        var p = new Parameter(ones(3), requires_grad: true);
        var q = new Parameter(ones(3), requires_grad: true);
        using var optimizer = new AdamW([new AdamWGroup([("p", p), ("q", q)], 0.1, WeightDecay: 0.5)]);
        p.grad = ones(3);
        q.grad = ones(3);
        optimizer.Step();
        var qBefore = q.detach().clone();
        var qMoment = optimizer.State("q")!.ExpAvg.clone();
        p.grad = ones(3);
        q.grad = null;   // no gradient: no weight decay, no momentum step, no count
        optimizer.Step();
        Assert.True(q.eq(qBefore).all().item<bool>());
        Assert.True(optimizer.State("q")!.ExpAvg.eq(qMoment).all().item<bool>());
        Assert.Equal(1, optimizer.State("q")!.Step);
        Assert.Equal(2, optimizer.State("p")!.Step);
    }

    [Fact]
    public void SetToNone_LeavesNoGradient_AndTheNextBackwardStartsFresh()
    {
        using var scope = NewDisposeScope();
        var p = new Parameter(ones(2), requires_grad: true);
        p.mul(Scalars.Of(3.0)).sum().backward();
        Assert.NotNull(p.grad);
        Gradients.SetToNone([p]);
        Assert.Null(p.grad);
        p.mul(Scalars.Of(2.0)).sum().backward();
        Assert.Equal([2f, 2f], p.grad!.data<float>().ToArray());   // not 3 + 2: nothing accumulated into an old tensor
    }

    [Fact]
    public void ClipGradNorm_WithoutGradients_IsZero_AndTouchesNothing()
    {
        var p = new Parameter(ones(2), requires_grad: true);
        Assert.Equal(0.0, Gradients.ClipGradNorm([p], 1.0));
        Assert.Equal(0.0, Gradients.Norm([p]));
        Assert.Null(p.grad);
    }

    [Fact]
    public void StepAndClip_UnderConstantGarbageCollection_GiveTheSameResults()
    {
        // TorchSharp's trap: a temporary Scalar finalised by a GC on another thread while native code reads it. Our
        // Scalars are held across every call, so a thread collecting without pause must change nothing.
        double[] Run(bool collect)
        {
            using var scope = NewDisposeScope();
            manual_seed(5);
            var parameters = Enumerable.Range(0, 4).Select(i => ($"p{i}", new Parameter(randn(64, 33), requires_grad: true))).ToList();
            using var optimizer = new AdamW([new AdamWGroup(parameters, 1e-2, WeightDecay: 0.01)]);
            using var stop = new CancellationTokenSource();
            var collector = collect ? Task.Run(() => { while (!stop.IsCancellationRequested) { GC.Collect(); GC.WaitForPendingFinalizers(); } }) : Task.CompletedTask;
            for (int step = 0; step < 150; step++)
            {
                using var stepScope = NewDisposeScope();
                foreach (var (_, p) in parameters) p.grad = randn_like(p);
                Gradients.ClipGradNorm(parameters.Select(x => x.Item2), 5.0);
                // a new learning rate every step: the Scalars built from it must stay alive through their calls
                optimizer.Step([1e-2 * (1 + step % 7) / 7.0]);
                Gradients.SetToNone(parameters.Select(x => x.Item2));
            }
            stop.Cancel();
            collector.Wait();
            return parameters.SelectMany(x => x.Item2.detach().to_type(ScalarType.Float64).data<double>().ToArray()).ToArray();
        }
        Assert.Equal(Run(collect: false), Run(collect: true));
    }
}
