namespace MultiLora.Eval.Running;

/// <summary>The commit checked out around a folder, read from .git files (no git process); null when unknown.</summary>
public static class GitInfo
{
    public static string? Commit(string startDir)
    {
        try
        {
            for (var dir = new DirectoryInfo(startDir); dir is not null; dir = dir.Parent)
            {
                var dotGit = Path.Combine(dir.FullName, ".git");
                if (Directory.Exists(dotGit)) return FromGitDir(dotGit, dotGit);
                if (File.Exists(dotGit))
                {
                    // A worktree: ".git" is a file "gitdir: <path>"; refs live in the common dir.
                    var line = File.ReadAllText(dotGit).Trim();
                    if (!line.StartsWith("gitdir:")) return null;
                    var gitDir = Path.GetFullPath(Path.Combine(dir.FullName, line["gitdir:".Length..].Trim()));
                    var commonFile = Path.Combine(gitDir, "commondir");
                    var common = File.Exists(commonFile) ? Path.GetFullPath(Path.Combine(gitDir, File.ReadAllText(commonFile).Trim())) : gitDir;
                    return FromGitDir(gitDir, common);
                }
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return null;
    }

    static string? FromGitDir(string gitDir, string commonDir)
    {
        var head = File.ReadAllText(Path.Combine(gitDir, "HEAD")).Trim();
        if (!head.StartsWith("ref:")) return head;
        var refName = head["ref:".Length..].Trim();
        foreach (var d in new[] { gitDir, commonDir })
        {
            var refFile = Path.Combine(d, refName);
            if (File.Exists(refFile)) return File.ReadAllText(refFile).Trim();
        }
        var packed = Path.Combine(commonDir, "packed-refs");
        if (File.Exists(packed))
            foreach (var l in File.ReadLines(packed))
                if (l.EndsWith(" " + refName)) return l.Split(' ')[0];
        return null;
    }
}
