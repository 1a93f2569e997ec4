"""Sending SMS through SNS (transactional route)."""
from __future__ import annotations

from chalicelib.integrations.aws import client


def send(phone: str, text: str, *, sender: str = "") -> str:
    attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}
    if sender:
        attributes["AWS.MM.SMS.OriginationNumber"] = {"DataType": "String", "StringValue": sender}
    response = client("sns").publish(PhoneNumber=phone, Message=text,
                                     MessageAttributes=attributes)
    return response["MessageId"]
