using Microsoft.Data.Sqlite;

namespace SwarmPS.Core.Registry;

/// <summary>A base image a VM provider clones environments from (KVM: a qcow2 file).</summary>
public sealed class SwarmBaseImage
{
    public required string Name { get; init; }
    public required string Provider { get; init; }
    /// <summary>Absolute path of the image file. Never modified or deleted by SwarmPS.</summary>
    public required string Path { get; init; }
    /// <summary>Free text: which OS, what is installed.</summary>
    public string? OsNote { get; init; }
    /// <summary>The user SSH logs in as (the per-environment key is authorized for it by the seed).</summary>
    public string SshUser { get; init; } = "root";
    public int Cpus { get; init; } = 2;
    public int MemoryMb { get; init; } = 4096;
    /// <summary>Virtual disk size of each overlay in GiB; 0 keeps the base's size.</summary>
    public int DiskGb { get; init; }
    /// <summary>Direct kernel boot: the kernel file (absolute). Null: the disk boots itself.</summary>
    public string? KernelPath { get; init; }
    /// <summary>Direct kernel boot: the initrd file (absolute), only with <see cref="KernelPath"/>.</summary>
    public string? InitrdPath { get; init; }
    /// <summary>Direct kernel boot: the kernel command line, only with <see cref="KernelPath"/>.</summary>
    public string? KernelCommandLine { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
}

/// <summary>Base images by name (names follow the ticket rules, unique regardless of case).</summary>
public sealed partial class SwarmRegistry
{
    /// <summary>Kept for callers of the first version; the ids live in <see cref="ErrorIds"/>.</summary>
    public const string ImageExists = ErrorIds.ImageExists;
    /// <summary>Kept for callers of the first version; the ids live in <see cref="ErrorIds"/>.</summary>
    public const string ImageNotFound = ErrorIds.ImageNotFound;

    public SwarmBaseImage AddBaseImage(SwarmBaseImage image)
    {
        Names.Ticket(image.Name);
        try
        {
            return Write(c =>
            {
                if (GetBaseImage(c, image.Name) is { } existing)
                    throw new SwarmException(ErrorIds.ImageExists, SwarmErrorKind.AlreadyExists,
                        $"A base image named '{existing.Name}' is already registered ({existing.Provider}, {existing.Path}). Unregister it first or pick another name.", image.Name);
                var stored = new SwarmBaseImage
                {
                    Name = image.Name, Provider = image.Provider, Path = image.Path, OsNote = image.OsNote, SshUser = image.SshUser,
                    Cpus = image.Cpus, MemoryMb = image.MemoryMb, DiskGb = image.DiskGb, CreatedAt = DateTimeOffset.UtcNow,
                    KernelPath = image.KernelPath, InitrdPath = image.InitrdPath, KernelCommandLine = image.KernelCommandLine,
                };
                using var cmd = c.Sql("INSERT INTO base_images (name, provider, path, os_note, ssh_user, cpus, memory_mb, disk_gb, created_at, kernel, initrd, cmdline) VALUES ($n,$p,$path,$os,$u,$cpu,$mem,$disk,$t,$k,$i,$c)");
                cmd.Parameters.AddWithValue("$n", stored.Name);
                cmd.Parameters.AddWithValue("$p", stored.Provider);
                cmd.Parameters.AddWithValue("$path", stored.Path);
                cmd.Parameters.AddWithValue("$os", (object?)stored.OsNote ?? DBNull.Value);
                cmd.Parameters.AddWithValue("$u", stored.SshUser);
                cmd.Parameters.AddWithValue("$cpu", stored.Cpus);
                cmd.Parameters.AddWithValue("$mem", stored.MemoryMb);
                cmd.Parameters.AddWithValue("$disk", stored.DiskGb);
                cmd.Parameters.AddWithValue("$t", Time(stored.CreatedAt));
                cmd.Parameters.AddWithValue("$k", (object?)stored.KernelPath ?? DBNull.Value);
                cmd.Parameters.AddWithValue("$i", (object?)stored.InitrdPath ?? DBNull.Value);
                cmd.Parameters.AddWithValue("$c", (object?)stored.KernelCommandLine ?? DBNull.Value);
                cmd.ExecuteNonQuery();
                return stored;
            });
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == 19)
        {
            throw new SwarmException(ErrorIds.ImageExists, SwarmErrorKind.AlreadyExists, $"A base image named '{image.Name}' is already registered.", image.Name, ex);
        }
    }

    public SwarmBaseImage? GetBaseImage(string name) => Read(c => GetBaseImage(c, name));

    public SwarmBaseImage RequireBaseImage(string name) => GetBaseImage(name)
        ?? throw new SwarmException(ErrorIds.ImageNotFound, SwarmErrorKind.NotFound,
            $"No base image named '{Names.Describe(name)}' is registered.", name) { Hint = Hints.RegisterImage };

    public IReadOnlyList<SwarmBaseImage> ListBaseImages(string? provider = null) => Read(c =>
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT name, provider, path, os_note, ssh_user, cpus, memory_mb, disk_gb, created_at, kernel, initrd, cmdline FROM base_images" +
                          (provider is null ? "" : " WHERE provider = $p") + " ORDER BY name";
        if (provider is not null) cmd.Parameters.AddWithValue("$p", provider);
        using var r = cmd.ExecuteReader();
        var list = new List<SwarmBaseImage>();
        while (r.Read()) list.Add(ReadImage(r));
        return (IReadOnlyList<SwarmBaseImage>)list;
    });

    /// <summary>
    /// The environments created from <paramref name="image"/>: those of the image's provider that record its name
    /// in their "image" metadata (every provider with base images does: kvm, hyperv, tart).
    /// </summary>
    public IReadOnlyList<SwarmEnvironment> EnvironmentsUsingBaseImage(SwarmBaseImage image) =>
        ListEnvironments().Where(e => string.Equals(e.Provider, image.Provider, StringComparison.OrdinalIgnoreCase) &&
                                      string.Equals(e.Metadata.GetValueOrDefault("image"), image.Name, StringComparison.OrdinalIgnoreCase)).ToList();

    /// <summary>
    /// Removes the registration of any provider's base image (never the file). Refused (InvalidState) while an
    /// environment still uses the image; NotFound when no image has that name.
    /// </summary>
    public SwarmBaseImage UnregisterBaseImage(string name)
    {
        var image = RequireBaseImage(name);
        var users = EnvironmentsUsingBaseImage(image);
        if (users.Count > 0)
            throw new SwarmException(ErrorIds.InvalidState, SwarmErrorKind.InvalidState,
                $"Base image '{image.Name}' backs {users.Count} environment(s) ({string.Join(", ", users.Select(u => u.Ticket))}); remove them first.", image.Name);
        RemoveBaseImage(image.Name);
        return image;
    }

    /// <summary>Deletes the row (never the file). Returns false when there was none.</summary>
    public bool RemoveBaseImage(string name) => Write(c =>
    {
        using var cmd = c.Sql("DELETE FROM base_images WHERE name = $n");
        cmd.Parameters.AddWithValue("$n", name);
        return cmd.ExecuteNonQuery() > 0;
    });

    private static SwarmBaseImage? GetBaseImage(SqliteConnection c, string name)
    {
        using var cmd = c.Sql("SELECT name, provider, path, os_note, ssh_user, cpus, memory_mb, disk_gb, created_at, kernel, initrd, cmdline FROM base_images WHERE name = $n");
        cmd.Parameters.AddWithValue("$n", name);
        using var r = cmd.ExecuteReader();
        return r.Read() ? ReadImage(r) : null;
    }

    private static SwarmBaseImage ReadImage(SqliteDataReader r) => new()
    {
        Name = r.GetString(0), Provider = r.GetString(1), Path = r.GetString(2), OsNote = r.IsDBNull(3) ? null : r.GetString(3),
        SshUser = r.GetString(4), Cpus = r.GetInt32(5), MemoryMb = r.GetInt32(6), DiskGb = r.GetInt32(7), CreatedAt = ParseTime(r.GetString(8)),
        KernelPath = r.IsDBNull(9) ? null : r.GetString(9), InitrdPath = r.IsDBNull(10) ? null : r.GetString(10), KernelCommandLine = r.IsDBNull(11) ? null : r.GetString(11),
    };
}
