using System.Reflection;
using NJsonSchema;
using NSwag;
using NSwag.Generation.Processors;
using NSwag.Generation.Processors.Contexts;

namespace CoreScope.Api.Restore;

/// <summary>
/// Describes the restore's body, which the action reads itself (a file of any size is never model-bound): the
/// database file as raw bytes, or, for <c>?offsite=</c> of an encrypted copy, the decryption key as JSON
/// (<see cref="OffsiteRestoreKey"/>). Without this the document would show no body at all.
/// </summary>
public sealed class RestoreBodyOperationProcessor : IOperationProcessor
{
    public bool Process(OperationProcessorContext context)
    {
        if (context.MethodInfo.GetCustomAttribute<RestoreUploadAttribute>() is null)
        {
            return true;
        }

        var key = new JsonSchema
        {
            Type = JsonObjectType.Object,
            Description = "With ?offsite= of an encrypted copy only: the OpenPGP private key and its passphrase, used for this request and never stored or logged.",
        };
        key.Properties["privateKey"] = new JsonSchemaProperty
        {
            Type = JsonObjectType.String,
            Description = "The armored private key, as gpg --export-secret-keys --armor writes it (-----BEGIN PGP PRIVATE KEY BLOCK-----…).",
        };
        key.Properties["passphrase"] = new JsonSchemaProperty
        {
            Type = JsonObjectType.String,
            Description = "The private key's passphrase; empty for a key without one.",
        };
        key.RequiredProperties.Add("privateKey");

        context.OperationDescription.Operation.RequestBody = new OpenApiRequestBody
        {
            IsRequired = false,
            Description = "The .db or .db.gz to restore (none with ?from= or ?offsite=); with ?offsite= of an encrypted copy, the decryption key as JSON.",
            Content =
            {
                ["application/octet-stream"] = new OpenApiMediaType { Schema = new JsonSchema { Type = JsonObjectType.String, Format = "binary" } },
                ["application/json"] = new OpenApiMediaType { Schema = key },
            },
        };
        return true;
    }
}
