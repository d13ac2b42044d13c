using MultiLora.Core.Runtime;
using MultiLora.Llava.Training.Recipes;
using MultiLora.Tests.Common;

namespace MultiLora.Tests.Training;

public sealed class RecipeTests
{
    static string RepoFile(params string[] parts)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MultiLora.sln"))) return Path.Combine([dir.FullName, .. parts]);
        throw new DirectoryNotFoundException("repository root not found");
    }

    [Fact]
    public void ShippedRecipes_AllParseAndValidate()
    {
        var recipes = Directory.GetFiles(RepoFile("recipes"), "*.yaml");
        Assert.NotEmpty(recipes);
        foreach (var path in recipes)
        {
            var r = RecipeLoader.Load(path, []);
            Assert.True(Path.IsPathRooted(r.OutputDir), path);
        }
        var qlora = RecipeLoader.Load(RepoFile("recipes", "scaling-qlora.yaml"), []);
        Assert.Equal(TrainMethod.Qlora, qlora.EffectiveMethod);
        Assert.Equal(128, qlora.Lora.EffectiveAlpha);   // alpha = 2 x rank when not given
    }

    [Fact]
    public void SetOverrides_ReachNestedFieldsAndLists()
    {
        var r = RecipeLoader.Load(RepoFile("recipes", "llava15-stage2-lora.yaml"),
            ["lora.rank=64", "method=qlora", "data.resolution=224", "lora.targets=[q_proj, v_proj]", "optim.lr=1e-4"]);
        Assert.Equal(64, r.Lora.Rank);
        Assert.Equal(TrainMethod.Qlora, r.EffectiveMethod);
        Assert.Equal(224, r.Data.Resolution);
        Assert.Equal(["q_proj", "v_proj"], r.Lora.Targets);
        Assert.Equal(1e-4, r.Optim.Lr);
        Assert.Equal(256, r.Lora.EffectiveAlpha);   // the recipe's explicit alpha stays
    }

    [Fact]
    public void UnknownKeyOrBadValue_IsNamed()
    {
        using var tmp = Fixture.Temp();
        File.WriteAllText(tmp.File("r.yaml"), "stage: 2\nlora:\n  rnak: 8\n");
        var e = Assert.Throws<InvalidDataException>(() => RecipeLoader.Load(tmp.File("r.yaml"), []));
        Assert.Contains("'rnak'", e.Message);
        Assert.Contains(tmp.File("r.yaml"), e.Message);
        var e2 = Assert.Throws<InvalidDataException>(() => RecipeLoader.Load(tmp.File("r.yaml"), ["lora.rnak=1", "method=dora"]));
        Assert.Contains("rnak", e2.Message);
        File.WriteAllText(tmp.File("m.yaml"), "method: dora\n");
        var e3 = Assert.Throws<InvalidDataException>(() => RecipeLoader.Load(tmp.File("m.yaml"), []));
        Assert.Contains("'dora'", e3.Message);
    }

    [Fact]
    public void VisionLr_NeedsAnUnfrozenTowerAndAPositiveValue()
    {
        var e = Assert.Throws<InvalidDataException>(() => RecipeLoader.Load(null, ["optim.vision_lr=2e-6"]));
        Assert.Contains("unfreeze_vision_tower", e.Message);
        var e2 = Assert.Throws<InvalidDataException>(() => RecipeLoader.Load(null, ["unfreeze_vision_tower=true", "optim.vision_lr=-1"]));
        Assert.Contains("optim.vision_lr", e2.Message);
        var r = RecipeLoader.Load(null, ["unfreeze_vision_tower=true", "optim.vision_lr=2e-6"]);
        Assert.True(r.UnfreezeVisionTower);
        Assert.Equal(2e-6, r.Optim.VisionLr);
    }

    [Fact]
    public void ReleaseMemory_DefaultsToAutoAndRefusesUnknownModes()
    {
        Assert.Equal(HeapRelease.Auto, RecipeLoader.Load(null, []).ParsedReleaseMemory);
        Assert.Equal(HeapRelease.Never, RecipeLoader.Load(null, ["release_memory=never"]).ParsedReleaseMemory);
        Assert.Equal(HeapRelease.Step, RecipeLoader.Load(null, ["release_memory=step"]).ParsedReleaseMemory);
        var e = Assert.Throws<InvalidDataException>(() => RecipeLoader.Load(null, ["release_memory=sometimes"]));
        Assert.Contains("release_memory", e.Message);
    }

    [Fact]
    public void Distributed_DefaultsToAutoWithDdpBuckets_AndRefusesUnknownBackends()
    {
        var r = RecipeLoader.Load(null, []);
        Assert.Equal(MultiLora.Distributed.DistributedBackend.Auto, r.Distributed.ParsedBackend);
        Assert.Equal(25L * 1024 * 1024, r.Distributed.BucketBytes());
        Assert.Equal(TimeSpan.FromSeconds(30), r.Distributed.WatchdogOptions().HeartbeatTimeout);
        var set = RecipeLoader.Load(null, ["distributed.backend=mpi", "distributed.heartbeat_timeout_s=5"]);
        Assert.Equal(MultiLora.Distributed.DistributedBackend.Mpi, set.Distributed.ParsedBackend);
        Assert.Equal(TimeSpan.FromSeconds(5), set.Distributed.WatchdogOptions().HeartbeatTimeout);
        var e = Assert.Throws<InvalidDataException>(() => RecipeLoader.Load(null, ["distributed.backend=gloo"]));
        Assert.EndsWith("distributed.backend 'gloo' is not one of auto|mpi|nccl|none", e.Message);
        Assert.Contains("distributed.bucket_mb", Assert.Throws<InvalidDataException>(() => RecipeLoader.Load(null, ["distributed.bucket_mb=0"])).Message);
    }

    [Theory]
    [InlineData("lora", "bfloat16", null, "float32")]       // peft's autocast_adapter_dtype
    [InlineData("qlora", "float16", null, "float32")]
    [InlineData("projector", "bfloat16", null, "float32")]
    [InlineData("full", "bfloat16", null, "bfloat16")]      // full trains in dtype (pure bf16)
    [InlineData("lora", "float32", null, "float32")]
    [InlineData("lora", "bfloat16", "bfloat16", "bfloat16")] // autocast_adapter_dtype=False
    public void TrainableDtype_DefaultsToFloat32UnderAHalfDtypeExceptForFull(string method, string dtype, string? trainable, string expected)
    {
        string[] sets = trainable is null ? [$"method={method}", $"dtype={dtype}"] : [$"method={method}", $"dtype={dtype}", $"trainable_dtype={trainable}"];
        var r = RecipeLoader.Load(null, sets);
        Assert.Equal(expected, r.EffectiveTrainableDtype);
    }

    [Theory]
    [InlineData("trainable_dtype=int8", "trainable_dtype 'int8'")]
    [InlineData("dtype=bf32", "dtype 'bf32'")]
    [InlineData("trainable_dtype=float16", "must be float32 or the same as dtype")]
    public void BadDtypes_AreNamed(string set, string expected)
    {
        var e = Assert.Throws<InvalidDataException>(() => RecipeLoader.Load(null, ["dtype=bfloat16", set]));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void FullWithFloat32TrainableOverBf16_IsRefusedWithTheReason()
    {
        var e = Assert.Throws<InvalidDataException>(() => RecipeLoader.Load(null, ["method=full", "dtype=bfloat16", "trainable_dtype=float32"]));
        Assert.Contains("method full", e.Message);
    }
}
