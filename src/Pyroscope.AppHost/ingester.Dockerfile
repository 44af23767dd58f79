# The ingester image of a published AppHost (azd up). Ingesters are the one component published as a container
# built from this file rather than as a project: in the manifest azd reads, only a container carries a volume, and
# an ingester's WAL must outlive its container. Build context: the repository root. The other components, and this
# one too outside azd, build without Docker: dotnet publish -t:PublishContainer (see README, "Deploying to Azure").
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/Pyroscope.Ingester/Pyroscope.Ingester.csproj -c Release -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
# The volume is mounted at /data; an empty one starts owned by the image's non-root user.
RUN mkdir -p /data && chown "$APP_UID" /data
USER $APP_UID
EXPOSE 4040 9095
ENTRYPOINT ["dotnet", "Pyroscope.Ingester.dll"]
