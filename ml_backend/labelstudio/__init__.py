"""Label Studio's formats and API: label config -> schema, SDK client, annotations, the prediction builder. No server,
no queue."""
