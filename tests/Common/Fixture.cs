namespace MultiLora.Tests.Common;

/// <summary>
/// Locates the tiny-llava oracle: the copy committed under tests/fixtures (self-contained clone),
/// else ../shared/fixtures next to the checkout.
/// </summary>
public static class Fixture
{
    public static string Root { get; } = Locate();

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    /// <summary>A path under tests/fixtures (beside tiny-llava): the other reference data.</summary>
    public static string Other(params string[] parts) => System.IO.Path.Combine([System.IO.Path.GetDirectoryName(Root)!, .. parts]);

    static string Locate()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            foreach (var candidate in new[] { System.IO.Path.Combine(dir.FullName, "tests", "fixtures", "tiny-llava"),
                                              System.IO.Path.Combine(dir.FullName, "shared", "fixtures", "tiny-llava") })
                if (File.Exists(System.IO.Path.Combine(candidate, "meta.json"))) return candidate;
        }
        throw new DirectoryNotFoundException("tiny-llava fixture not found: expected tests/fixtures/tiny-llava in the repository (or ../shared/fixtures/tiny-llava)");
    }

    /// <summary>A fresh temporary folder, deleted when disposed.</summary>
    public static TempDir Temp() => new();

    public sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("multilora-test-").FullName;
        public string File(string name) => System.IO.Path.Combine(Path, name);
        public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
    }
}
