global using System.Net;
global using System.Text.Json;
global using CoreScope.Api.Tests.Infrastructure;
global using Dapper;
global using FluentAssertions;
global using NUnit.Framework;
