using System.Text.Json;
using MultiLora.Eval.Scoring;
using MultiLora.Tests.Common;
using Xunit.Abstractions;

namespace MultiLora.Eval.Tests.Reference;

/// <summary>
/// `eval score` against the real reference scripts (haotian-liu/LLaVA @ c121f04, GT-Vision-Lab/VQA, VLMEvalKit,
/// MM-Vet, the VizWiz and GQA evaluations; commits in each expected.json): on the adversarial answer files that
/// Reference/generate.py wrote and scored with those scripts, every metric and every item agrees to 1e-6.
/// </summary>
public class ReferenceAgreementTests(ITestOutputHelper log)
{
    const double Tolerance = 1e-6;

    public static TheoryData<string> Tasks => new(ReferenceData.Tasks);

    [Theory]
    [MemberData(nameof(Tasks))]
    public void Scores_EqualTheReferenceScript_OnEveryMetricAndItem(string task)
    {
        var data = ReferenceData.Load(task);
        var main = data.Sets.First().GetProperty("items").EnumerateArray().Count(i => !i.TryGetProperty("group", out _));
        Assert.True(main >= 300, $"{task}: the main answer file has only {main} answers checked item by item");
        foreach (var set in data.Sets.Where(s => !s.TryGetProperty("reference_refuses", out _)))
        {
            var name = $"{task}/{set.GetProperty("name").GetString()}";
            var allowPartial = set.TryGetProperty("allow_partial", out var ap) && ap.GetBoolean();
            using var tmp = Fixture.Temp();
            var run = data.Score(set, allowPartial, tmp.File("results.json"));
            var metrics = run.Tasks.Single().Metrics;
            AssertMetrics(name, set.GetProperty("metrics"), metrics);
            var records = File.ReadAllLines(tmp.File("results.samples.jsonl"))
                .Select(l => JsonSerializer.Deserialize<SampleRecord>(l, Running.SampleLog.Json)!).ToList();
            var items = AssertItems(name, set.GetProperty("items"), records);
            // One line per metric (reference, ours, |difference|), for the record of what was compared.
            foreach (var m in set.GetProperty("metrics").EnumerateObject())
                log.WriteLine($"{name}\t{m.Name}\treference {m.Value.GetDouble():R}\tours {metrics[m.Name]:R}\tdiff {Math.Abs(metrics[m.Name] - m.Value.GetDouble()):E1}\titems {items}");
            if (set.TryGetProperty("coverage", out var cov) && cov.ValueKind == JsonValueKind.Number)
                Assert.Equal(cov.GetDouble(), metrics["coverage"], 6);
        }
    }

    static void AssertMetrics(string name, JsonElement expected, IReadOnlyDictionary<string, double> ours)
    {
        var reference = expected.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
        foreach (var (key, value) in reference)
        {
            Assert.True(ours.ContainsKey(key), $"{name}: metric {key} (reference {value}) is missing; ours: {string.Join(", ", ours.Keys.Order())}");
            Assert.True(Math.Abs(ours[key] - value) <= Tolerance, $"{name}: {key} = {ours[key]:R}, reference {value:R}");
        }
        foreach (var key in ours.Keys.Where(k => k is not ("n" or "failed" or "coverage")))
            Assert.True(reference.ContainsKey(key), $"{name}: we report {key} = {ours[key]}, which the reference data does not check");
    }

    static int AssertItems(string name, JsonElement items, List<SampleRecord> records)
    {
        var count = 0;
        foreach (var item in items.EnumerateArray())
        {
            count++;
            if (item.TryGetProperty("group", out var group))
            {
                var rotations = records.Where(r => r.GroupKey == group.GetString()).ToList();
                Assert.NotEmpty(rotations);
                Assert.True(item.GetProperty("hit").GetDouble() == (rotations.All(r => r.Score == 1) ? 1 : 0), $"{name}: question {group} hit differs");
                continue;
            }
            var record = item.TryGetProperty("line", out var line)
                ? records.Single(r => r.AnswerLine == line.GetInt32())
                : records.Single(r => r.Id == item.GetProperty("id").GetString());
            var where = $"{name}: item {record.Id} (line {record.AnswerLine}, prediction {JsonSerializer.Serialize(record.Prediction)})";
            var score = item.GetProperty("score").GetDouble();
            Assert.True(record.Score is { } s && Math.Abs(s - score) <= Tolerance, $"{where}: score {record.Score}, reference {score}");
            if (item.TryGetProperty("parsed", out var parsed))
                Assert.True(parsed.ValueKind == JsonValueKind.Null ? record.Parsed is null : record.Parsed == parsed.GetString(),
                    $"{where}: parsed {JsonSerializer.Serialize(record.Parsed)}, reference {parsed.GetRawText()}");
            if (item.TryGetProperty("multimodal", out var mm))
                Assert.True(record.Multimodal == mm.GetBoolean(), $"{where}: multimodal {record.Multimodal}, reference {mm}");
            if (item.TryGetProperty("reference_score", out var rs))
                Assert.True(record.ReferenceScore is { } r && Math.Abs(r - rs.GetDouble()) <= Tolerance, $"{where}: reference score {record.ReferenceScore}, reference {rs}");
        }
        return count;
    }

    [Theory]
    [MemberData(nameof(Tasks))]
    public void MismatchedIds_AreAOneLineErrorNamingTheFirstIds_AndAllowPartialReportsCoverage(string task)
    {
        var data = ReferenceData.Load(task);
        var checkedSets = 0;
        foreach (var set in data.Sets.Where(s => s.TryGetProperty("strict_error_names", out _)))
        {
            var e = Assert.Throws<InvalidDataException>(() => data.Score(set, allowPartial: false));
            Assert.DoesNotContain('\n', e.Message);
            Assert.Contains(set.GetProperty("answers").GetString()!, e.Message);
            Assert.Contains("--allow-partial", e.Message);
            foreach (var id in set.GetProperty("strict_error_names").EnumerateArray())
                Assert.True(e.Message.Contains(id.GetString()!, StringComparison.Ordinal), $"{task}: '{id}' is not named in: {e.Message}");
            var metrics = data.Score(set, allowPartial: true).Tasks.Single().Metrics;
            Assert.Equal(set.GetProperty("coverage").GetDouble(), metrics["coverage"], 6);
            checkedSets++;
        }
        Assert.True(checkedSets > 0);
    }
}
