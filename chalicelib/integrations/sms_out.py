"""Sending SMS: AWS End User Messaging SMS (`SendTextMessage` with a configuration set, whose
event destination reports delivery) when one is configured, else SNS Publish (transactional
route; the local stack, whose emulator has no SMS v2 API)."""
from __future__ import annotations

from chalicelib.integrations.aws import client


def send(phone: str, text: str, *, sender: str = "", configuration_set: str = "") -> str:
    """Returns the provider's message id, the key delivery events are matched by."""
    if configuration_set:
        request = {"DestinationPhoneNumber": phone, "MessageBody": text,
                   "MessageType": "TRANSACTIONAL", "ConfigurationSetName": configuration_set}
        if sender:
            request["OriginationIdentity"] = sender
        return client("pinpoint-sms-voice-v2").send_text_message(**request)["MessageId"]
    attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}
    if sender:
        attributes["AWS.MM.SMS.OriginationNumber"] = {"DataType": "String", "StringValue": sender}
    response = client("sns").publish(PhoneNumber=phone, Message=text,
                                     MessageAttributes=attributes)
    return response["MessageId"]
